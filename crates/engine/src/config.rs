//! A per-process cache of each merchant's routing config (connectors, published policy, API
//! keys). Correctness does not depend on it: every payment's first transaction checks that the
//! config version it routed with is still current (`store::payments::start_payment`), and on a
//! mismatch the engine reloads and routes again. Entries also expire after `max_age`.
//!
//! Every reload also reads the connectors' persisted circuit-breaker states and hands them to
//! this process's [`Health`] (they adopt newer generations). [`crate::health::spawn`] keeps the
//! cache fresh: it reloads a merchant when `NOTIFY switchboard_config` names it (connector,
//! credential, policy and circuit changes all notify) and polls `config_versions` every second
//! for notifications it may have missed.

use crate::EngineError;
use crate::health::Health;
use routing::Mode;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use store::config::MerchantConfig;
use uuid::Uuid;

/// A cached config and when it was loaded.
type Entry = (Arc<MerchantConfig>, Instant);

/// The cache.
#[derive(Clone)]
pub struct ConfigCache {
    pool: PgPool,
    entries: Arc<RwLock<HashMap<(Uuid, Mode), Entry>>>,
    max_age: Duration,
    health: Health,
    /// Master keys that decrypt connector credentials (vault); shared by clones.
    keys: Arc<RwLock<Arc<vault::Keyset>>>,
}

impl ConfigCache {
    /// A cache whose entries live at most `max_age`.
    pub fn new(pool: PgPool, max_age: Duration) -> ConfigCache {
        ConfigCache {
            pool,
            entries: Arc::new(RwLock::new(HashMap::new())),
            max_age,
            health: Health::new(Health::default_actor()),
            keys: Arc::new(RwLock::new(Arc::new(vault::Keyset::default()))),
        }
    }

    /// The master keys credentials are decrypted with (empty until [`Self::set_keys`]).
    pub fn keys(&self) -> Arc<vault::Keyset> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(_) => Arc::new(vault::Keyset::default()),
        }
    }

    /// Replaces the master keys (for this cache and all its clones) and drops cached entries.
    pub fn set_keys(&self, keys: Arc<vault::Keyset>) {
        if let Ok(mut k) = self.keys.write() {
            *k = keys;
        }
        if let Ok(mut map) = self.entries.write() {
            map.clear();
        }
    }

    /// This process's circuit breakers (fed by the payments service, kept in step by reloads).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The config of a merchant and mode, from cache or freshly loaded.
    pub async fn get(
        &self,
        merchant_id: Uuid,
        mode: Mode,
    ) -> Result<Arc<MerchantConfig>, EngineError> {
        if let Ok(map) = self.entries.read()
            && let Some((cfg, at)) = map.get(&(merchant_id, mode))
            && at.elapsed() < self.max_age
        {
            return Ok(cfg.clone());
        }
        self.reload(merchant_id, mode).await
    }

    /// Loads the config from the database and caches it.
    pub async fn reload(
        &self,
        merchant_id: Uuid,
        mode: Mode,
    ) -> Result<Arc<MerchantConfig>, EngineError> {
        let keys = self.keys();
        let (cfg, circuits) = tokio::try_join!(
            async {
                store::config::load_config(&self.pool, &keys, merchant_id, mode)
                    .await
                    .map_err(EngineError::from)
            },
            async {
                store::health::load_circuits(&self.pool, merchant_id)
                    .await
                    .map_err(EngineError::from)
            }
        )?;
        let cfg = Arc::new(cfg);
        self.health.adopt(merchant_id, &circuits, false);
        if let Ok(mut map) = self.entries.write() {
            map.insert((merchant_id, mode), (cfg.clone(), Instant::now()));
        }
        Ok(cfg)
    }

    /// Drops every cached entry of a merchant (e.g. on `NOTIFY switchboard_config`).
    pub fn invalidate(&self, merchant_id: Uuid) {
        if let Ok(mut map) = self.entries.write() {
            map.retain(|(m, _), _| *m != merchant_id);
        }
    }

    /// Reloads every cached mode of a merchant now (on `NOTIFY switchboard_config`). Errors are
    /// logged and the entry dropped, so the next payment loads it itself.
    pub async fn refresh(&self, merchant_id: Uuid) {
        let modes: Vec<Mode> = match self.entries.read() {
            Ok(map) => map
                .keys()
                .filter(|(m, _)| *m == merchant_id)
                .map(|(_, mode)| *mode)
                .collect(),
            Err(_) => Vec::new(),
        };
        for mode in modes {
            if let Err(e) = self.reload(merchant_id, mode).await {
                tracing::warn!(merchant = %merchant_id, error = %e, "config reload failed");
                self.invalidate(merchant_id);
            }
        }
    }

    /// Reloads the cached merchants whose `config_versions.version` moved past the cached one
    /// (the poll fallback for missed notifications).
    pub async fn refresh_stale(&self) {
        let cached: Vec<(Uuid, i64)> = match self.entries.read() {
            Ok(map) => map
                .iter()
                .map(|((m, _), (cfg, _))| (*m, cfg.version))
                .collect(),
            Err(_) => return,
        };
        if cached.is_empty() {
            return;
        }
        let mut ids: Vec<Uuid> = cached.iter().map(|(m, _)| *m).collect();
        ids.sort();
        ids.dedup();
        let versions = match store::health::config_versions(&self.pool, &ids).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "config version poll failed");
                return;
            }
        };
        for (m, v) in versions {
            if cached.iter().any(|(cm, cv)| *cm == m && *cv != v) {
                self.refresh(m).await;
            }
        }
    }
}
