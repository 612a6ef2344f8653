//! Connector health in one gateway process: the local circuit breakers and the background tasks
//! that share their state with every other gateway through Postgres.
//!
//! How several gateways run one breaker per connector (ARCHITECTURE.md "Connector health"):
//! - Each gateway feeds the outcomes of its own provider calls into a local
//!   [`routing::Breaker`] per connector ([`Health::record`]) and routes with the local state
//!   ([`Health::overlay`]), so it reacts on its own evidence without a database round trip.
//! - A local transition is persisted by a background writer with a compare-and-set on the
//!   connector row's `circuit_generation` (`store::health::write_transition`). The update bumps
//!   the config version and the 0002 trigger `NOTIFY switchboard_config`s it; every gateway's
//!   listener reloads that merchant's config and adopts the persisted state (generation `>=` its
//!   own). If the compare-and-set loses (another gateway moved first, or an operator forced the
//!   circuit), the writer re-reads the row and adopts it: the first writer wins, the others follow.
//! - Operator overrides (`Console::force_circuit`) are just another generation of the same row.
//! - A missed notification is caught by a poll of `config_versions` every second.

use crate::config::ConfigCache;
use routing::{Breaker, CircuitSettings, Connector, ConnectorId, OutcomeClass, Transition};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::health::CircuitRow;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Channel the config triggers notify on (payload: merchant id).
pub const CONFIG_CHANNEL: &str = "switchboard_config";
/// Poll fallback period for missed notifications.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often open breakers are checked for an elapsed cool-down.
pub const TICK_EVERY: Duration = Duration::from_millis(100);

/// A transition waiting to be persisted.
#[derive(Debug, Clone, Copy)]
struct Pending {
    merchant_id: Uuid,
    connector_id: ConnectorId,
    transition: Transition,
}

type Breakers = HashMap<(Uuid, ConnectorId), Breaker>;

/// The local breakers of this process. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Health {
    breakers: Arc<Mutex<Breakers>>,
    writer: Arc<Mutex<Option<mpsc::UnboundedSender<Pending>>>>,
    actor: Arc<str>,
}

impl Health {
    /// Breakers named `actor` in audit rows and health events (e.g. `circuit-breaker@host:pid`).
    /// Until [`spawn`] runs, transitions stay local (nothing is persisted).
    pub fn new(actor: impl Into<String>) -> Health {
        let actor: String = actor.into();
        Health {
            breakers: Arc::new(Mutex::new(HashMap::new())),
            writer: Arc::new(Mutex::new(None)),
            actor: actor.into(),
        }
    }

    /// Default actor name: `circuit-breaker@<hostname>:<pid>`.
    pub fn default_actor() -> String {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        format!("circuit-breaker@{host}:{}", std::process::id())
    }

    /// The actor name.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    fn send(&self, merchant_id: Uuid, connector_id: ConnectorId, t: Transition) {
        tracing::info!(merchant = %merchant_id, connector = %connector_id, from = t.from.as_str(),
            to = t.to.as_str(), reason = %t.reason.text(), "circuit transition");
        if let Ok(w) = self.writer.lock()
            && let Some(tx) = w.as_ref()
        {
            let _ = tx.send(Pending {
                merchant_id,
                connector_id,
                transition: t,
            });
        }
    }

    /// Sets each connector's `circuit` to what this gateway's breaker says for one payment at
    /// `now_ms` (Unix ms UTC): closed, open, or half-open with a probe budget of 1 for at most
    /// one payment per probe interval and 0 for the others. Advances open breakers whose
    /// cool-down elapsed. Connectors never seen before get a breaker from their persisted state.
    pub fn overlay(&self, merchant_id: Uuid, connectors: &mut [Connector], now_ms: u64) {
        let mut out: Vec<(ConnectorId, Transition)> = Vec::new();
        if let Ok(mut map) = self.breakers.lock() {
            for c in connectors.iter_mut() {
                let b = map
                    .entry((merchant_id, c.id))
                    .or_insert_with(|| breaker_from_routing(c));
                if let Some(t) = b.advance(now_ms) {
                    out.push((c.id, t));
                }
                c.circuit = b.admit(now_ms);
            }
        }
        for (id, t) in out {
            self.send(merchant_id, id, t);
        }
    }

    /// Feeds one finished provider call (its final class, after reconciliation) at `now_ms`.
    pub fn record(
        &self,
        merchant_id: Uuid,
        connector_id: ConnectorId,
        class: OutcomeClass,
        now_ms: u64,
    ) {
        let t = match self.breakers.lock() {
            Ok(mut map) => map
                .entry((merchant_id, connector_id))
                .or_insert_with(|| Breaker::new(CircuitSettings::default()))
                .record(class, now_ms),
            Err(_) => None,
        };
        if let Some(t) = t {
            self.send(merchant_id, connector_id, t);
        }
    }

    /// Adopts persisted states (after a config reload): newer-or-equal generations replace the
    /// local state; `force` adopts whatever is persisted (after a lost compare-and-set).
    pub fn adopt(&self, merchant_id: Uuid, rows: &[CircuitRow], force: bool) {
        if let Ok(mut map) = self.breakers.lock() {
            for r in rows {
                let b = map
                    .entry((merchant_id, ConnectorId(r.connector_id)))
                    .or_insert_with(|| Breaker::from_shared(r.settings, r.state));
                b.adopt(r.settings, r.state, force);
            }
        }
    }

    /// Advances every open breaker whose cool-down elapsed at `now_ms` (background tick, so the
    /// shared state moves to half-open even without traffic).
    pub fn tick(&self, now_ms: u64) {
        let mut out = Vec::new();
        if let Ok(mut map) = self.breakers.lock() {
            for ((m, c), b) in map.iter_mut() {
                if let Some(t) = b.advance(now_ms) {
                    out.push((*m, *c, t));
                }
            }
        }
        for (m, c, t) in out {
            self.send(m, c, t);
        }
    }

    /// The first position `>= from` of `path` whose connector's breaker is not open here
    /// (`path.len()` when none): a fallback never calls a connector whose circuit opened after
    /// the payment's route was decided.
    pub fn next_usable(&self, merchant_id: Uuid, path: &[ConnectorId], from: usize) -> usize {
        let Ok(map) = self.breakers.lock() else {
            return from;
        };
        (from..path.len())
            .find(|i| {
                path.get(*i).is_some_and(|c| {
                    map.get(&(merchant_id, *c))
                        .is_none_or(|b| b.phase() != routing::Phase::Open)
                })
            })
            .unwrap_or(path.len())
    }

    /// The local phase of a connector's breaker, if this process has one (tests, drill).
    pub fn phase(&self, merchant_id: Uuid, connector_id: ConnectorId) -> Option<routing::Phase> {
        self.breakers
            .lock()
            .ok()?
            .get(&(merchant_id, connector_id))
            .map(Breaker::phase)
    }
}

fn breaker_from_routing(c: &Connector) -> Breaker {
    let phase = match c.circuit {
        routing::CircuitState::Closed => routing::Phase::Closed,
        routing::CircuitState::Open => routing::Phase::Open,
        routing::CircuitState::HalfOpen { .. } => routing::Phase::HalfOpen,
    };
    Breaker::from_shared(
        CircuitSettings::default(),
        routing::SharedState {
            phase,
            since_ms: 0,
            generation: 0,
            forced: None,
        },
    )
}

/// Unix milliseconds now (UTC), for the background tasks.
fn now_ms() -> u64 {
    u64::try_from(store::to_ms(time::OffsetDateTime::now_utc())).unwrap_or(0)
}

/// The background tasks of one gateway process (dropping this does not stop them; call
/// [`Background::abort`]).
pub struct Background {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Stops the tasks.
    pub fn abort(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts the health tasks of a gateway on the current tokio runtime:
/// - the writer, persisting local transitions with a compare-and-set;
/// - the config listener (`LISTEN switchboard_config`): reloads the notified merchant's cached
///   config (and circuit states) at once; plus a poll of `config_versions` every
///   [`POLL_EVERY`] for missed notifications;
/// - a tick every [`TICK_EVERY`] moving open breakers to half-open after their cool-down.
pub fn spawn(pool: PgPool, config: ConfigCache) -> Background {
    let health = config.health().clone();
    let (tx, rx) = mpsc::unbounded_channel();
    if let Ok(mut w) = health.writer.lock() {
        *w = Some(tx);
    }
    let writer = tokio::spawn(run_writer(pool.clone(), config.clone(), rx));
    let listener = tokio::spawn(run_listener(pool.clone(), config.clone()));
    let poller = tokio::spawn(run_poll(config.clone()));
    let ticker = tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK_EVERY);
        loop {
            every.tick().await;
            health.tick(now_ms());
        }
    });
    Background {
        tasks: vec![writer, listener, poller, ticker],
    }
}

async fn run_writer(pool: PgPool, config: ConfigCache, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let health = config.health().clone();
    while let Some(p) = rx.recv().await {
        let reason = p.transition.reason.text();
        let applied = store::health::write_transition(
            &pool,
            p.merchant_id,
            p.connector_id.0,
            &p.transition,
            health.actor(),
            &reason,
        )
        .await;
        match applied {
            Ok(true) => {}
            Ok(false) => {
                // Someone else moved first: the persisted row is the truth.
                match store::health::load_circuit(&pool, p.merchant_id, p.connector_id.0).await {
                    Ok(Some(row)) => health.adopt(p.merchant_id, &[row], true),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot re-read a circuit state"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot persist a circuit transition"),
        }
    }
}

async fn run_listener(pool: PgPool, config: ConfigCache) {
    loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut l) => {
                if let Err(e) = l.listen(CONFIG_CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
                    loop {
                        match l.recv().await {
                            Ok(n) => {
                                if let Ok(m) = Uuid::parse_str(n.payload()) {
                                    config.refresh(m).await;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "config listener lost its connection");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot start the config listener"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run_poll(config: ConfigCache) {
    let mut every = tokio::time::interval(POLL_EVERY);
    loop {
        every.tick().await;
        config.refresh_stale().await;
    }
}

/// Unix milliseconds (UTC) of a timestamp, as the breakers take time.
pub fn unix_ms(t: time::OffsetDateTime) -> u64 {
    u64::try_from(store::to_ms(t)).unwrap_or(0)
}
