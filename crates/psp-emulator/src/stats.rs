//! Request counters, per API key and per outcome (`GET /_emulator/stats`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// The key under which requests without a valid API key are counted.
pub const UNAUTHENTICATED: &str = "(unauthenticated)";

/// How one request ended, from the emulator's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A 2xx answer produced by processing (approved, captured, requires_action, retrieved...).
    Ok,
    /// A card decline (HTTP 402).
    Declined,
    /// Any other 4xx produced by processing or validation (400, 404...).
    ClientError,
    /// 401: missing or invalid API key.
    Unauthorized,
    /// A saved answer replayed for a reused `Idempotency-Key`.
    IdempotentReplay,
    /// 409: the `Idempotency-Key` was in use by a concurrent request.
    IdempotencyConflict,
    /// A 5xx injected by `error_rate`.
    InjectedError,
    /// Answered 503 or held because of an outage window.
    Outage,
    /// Held before processing (`hang: before`).
    HangBefore,
    /// Processed, then held (`hang: after`).
    HangAfter,
}

impl Outcome {
    const ALL: [Outcome; 10] = [
        Outcome::Ok,
        Outcome::Declined,
        Outcome::ClientError,
        Outcome::Unauthorized,
        Outcome::IdempotentReplay,
        Outcome::IdempotencyConflict,
        Outcome::InjectedError,
        Outcome::Outage,
        Outcome::HangBefore,
        Outcome::HangAfter,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name used in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Declined => "declined",
            Outcome::ClientError => "client_error",
            Outcome::Unauthorized => "unauthorized",
            Outcome::IdempotentReplay => "idempotent_replay",
            Outcome::IdempotencyConflict => "idempotency_conflict",
            Outcome::InjectedError => "injected_error",
            Outcome::Outage => "outage",
            Outcome::HangBefore => "hang_before",
            Outcome::HangAfter => "hang_after",
        }
    }

    /// The outcome implied by an HTTP status of a processed request.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Outcome::Ok,
            401 => Outcome::Unauthorized,
            402 => Outcome::Declined,
            409 => Outcome::IdempotencyConflict,
            500..=599 => Outcome::InjectedError,
            _ => Outcome::ClientError,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Counters {
    requests: u64,
    missing_stripe_version: u64,
    outcomes: [u64; Outcome::ALL.len()],
    statuses: HashMap<u16, u64>,
}

impl Counters {
    fn add(&mut self, outcome: Outcome, status: Option<u16>, missing_version: bool) {
        self.requests += 1;
        if missing_version {
            self.missing_stripe_version += 1;
        }
        self.outcomes[outcome.index()] += 1;
        if let Some(s) = status {
            *self.statuses.entry(s).or_default() += 1;
        }
    }

    fn snapshot(&self) -> KeyStats {
        KeyStats {
            requests: self.requests,
            missing_stripe_version: self.missing_stripe_version,
            by_outcome: Outcome::ALL
                .iter()
                .filter(|o| self.outcomes[o.index()] > 0)
                .map(|o| (o.as_str().to_owned(), self.outcomes[o.index()]))
                .collect(),
            by_status: self
                .statuses
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    total: Counters,
    per_key: HashMap<String, Counters>,
}

/// Shared request counters. Cheap to clone; clones share state.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    inner: Arc<Mutex<Inner>>,
}

/// Counters of one API key (or of all keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyStats {
    /// Requests received (provider API only, not `/_emulator/*`).
    pub requests: u64,
    /// Of those, requests without a `Stripe-Version` header.
    pub missing_stripe_version: u64,
    /// Count per [`Outcome`] name (absent = 0).
    pub by_outcome: BTreeMap<String, u64>,
    /// Count per HTTP status answered (hung requests are not counted here).
    pub by_status: BTreeMap<String, u64>,
}

/// The JSON of `GET /_emulator/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// All keys together.
    pub total: KeyStats,
    /// Per API key (requests without a valid key under `"(unauthenticated)"`).
    pub by_key: BTreeMap<String, KeyStats>,
}

impl Stats {
    /// Counts one request.
    pub fn record(
        &self,
        api_key: &str,
        outcome: Outcome,
        status: Option<u16>,
        missing_version: bool,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.total.add(outcome, status, missing_version);
        if let Some(c) = inner.per_key.get_mut(api_key) {
            c.add(outcome, status, missing_version);
        } else {
            let mut c = Counters::default();
            c.add(outcome, status, missing_version);
            inner.per_key.insert(api_key.to_owned(), c);
        }
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        StatsSnapshot {
            total: inner.total.snapshot(),
            by_key: inner
                .per_key
                .iter()
                .map(|(k, c)| (k.clone(), c.snapshot()))
                .collect(),
        }
    }

    /// Resets every counter.
    pub fn reset(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner = Inner::default();
    }
}
