//! Scriptable faults, shared by every provider module.
//!
//! A [`FaultSpec`] describes what goes wrong; it is installed with [`Faults::set`] (in process) or
//! `POST /_emulator/faults` (over HTTP) either for one API key or for all keys. For each request a
//! provider module asks [`Faults::plan`] once and gets a [`FaultPlan`]: what to do with *this*
//! request. The plan is computed deterministically (counters, not random numbers), so a test that
//! sets `error_rate: 0.25` sees exactly every 4th request fail.
//!
//! Precedence: a set installed for the request's API key wins over the set installed for all keys
//! (they are not merged). Installing a set replaces the previous set of the same scope.
//! See the crate documentation for the JSON format.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How long a "hang" holds a request when the fault does not say (`hang_ms`): 5 minutes, longer
/// than any sane client timeout. Hung requests are released early when the emulator shuts down.
pub const DEFAULT_HANG_MS: u64 = 300_000;

/// Where in the request a hang happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangMode {
    /// Hold the request before anything is processed: nothing is created or charged.
    Before,
    /// Process the request (create/charge, save the response under its `Idempotency-Key`),
    /// then withhold the HTTP answer.
    After,
}

/// What requests get during an outage window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageKind {
    /// Every request is answered `503` with the provider's server-error envelope.
    #[default]
    Error,
    /// Every request is held (like [`HangMode::Before`]): the client times out.
    Hang,
}

/// When an injected 5xx (`error_rate`) is decided relative to processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPhase {
    /// The request fails before anything is processed (nothing created or charged).
    #[default]
    Before,
    /// The request is processed (the payment may be created and charged) and the answer is then
    /// replaced by the 5xx: the "ambiguous 5xx" a client must reconcile.
    After,
}

/// An outage window, relative to the moment the fault set is installed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutageSpec {
    /// The outage starts this many milliseconds after the fault set is installed.
    pub start_in_ms: u64,
    /// The outage lasts this many milliseconds.
    pub duration_ms: u64,
    /// Errors (503) or hangs.
    pub kind: OutageKind,
}

/// One fault set, as JSON on `POST /_emulator/faults` or in process via [`Faults::set`].
///
/// Every field is optional; `{}` is a set with no faults (useful to override an all-keys set for
/// one key).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// The API key (account) this set applies to; `None` = every key without a set of its own.
    pub api_key: Option<String>,
    /// Added latency in milliseconds, spent while the request is being processed (so a
    /// concurrent request with the same idempotency key sees it in flight).
    pub latency_ms: u64,
    /// Fraction (0..=1) of matching requests answered with `error_status`. Deterministic: request
    /// number `n` (counted per fault set) fails when `floor(n*rate) > floor((n-1)*rate)`.
    pub error_rate: f64,
    /// Status of injected errors, 500..=599; default 500.
    pub error_status: Option<u16>,
    /// Whether the injected error happens before or after processing; default before.
    pub error_phase: ErrorPhase,
    /// Hang POST requests before or after processing. GET requests are never hung so that a
    /// client can reconcile.
    pub hang: Option<HangMode>,
    /// How long a hang holds the request; default [`DEFAULT_HANG_MS`].
    pub hang_ms: Option<u64>,
    /// Hang only this many requests, then stop hanging; default: every POST.
    pub hang_count: Option<u64>,
    /// Force card declines with this decline code (e.g. `do_not_honor`) on payments that would
    /// otherwise be approved or need authentication.
    pub decline_code: Option<String>,
    /// Fraction (0..=1) of confirmations declined with `decline_code`; default 1.
    pub decline_rate: Option<f64>,
    /// Only requests with these HTTP methods (e.g. `["POST"]`) are affected; default all.
    pub methods: Option<Vec<String>>,
    /// An outage window.
    pub outage: Option<OutageSpec>,
}

impl FaultSpec {
    /// An empty set for one API key.
    pub fn for_key(api_key: impl Into<String>) -> Self {
        Self {
            api_key: Some(api_key.into()),
            ..Self::default()
        }
    }

    /// An empty set for all API keys.
    pub fn all_keys() -> Self {
        Self::default()
    }

    /// Sets the added latency.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the injected 5xx rate (status 500).
    #[must_use]
    pub fn error_rate(mut self, rate: f64) -> Self {
        self.error_rate = rate;
        self
    }

    /// Sets the status of injected errors.
    #[must_use]
    pub fn error_status(mut self, status: u16) -> Self {
        self.error_status = Some(status);
        self
    }

    /// Sets when injected errors happen.
    #[must_use]
    pub fn error_phase(mut self, phase: ErrorPhase) -> Self {
        self.error_phase = phase;
        self
    }

    /// Hangs POST requests (before or after processing) for `hang_ms` (or the default).
    #[must_use]
    pub fn hang(mut self, mode: HangMode) -> Self {
        self.hang = Some(mode);
        self
    }

    /// Sets how long a hang lasts.
    #[must_use]
    pub fn hang_for(mut self, duration: Duration) -> Self {
        self.hang_ms = Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Hangs only the next `count` POST requests.
    #[must_use]
    pub fn hang_count(mut self, count: u64) -> Self {
        self.hang_count = Some(count);
        self
    }

    /// Forces declines with `code` at `rate` (0..=1).
    #[must_use]
    pub fn decline(mut self, code: impl Into<String>, rate: f64) -> Self {
        self.decline_code = Some(code.into());
        self.decline_rate = Some(rate);
        self
    }

    /// Restricts the set to these HTTP methods.
    #[must_use]
    pub fn methods(mut self, methods: &[&str]) -> Self {
        self.methods = Some(methods.iter().map(|m| m.to_ascii_uppercase()).collect());
        self
    }

    /// Adds an outage window starting `start_in` from now and lasting `duration`.
    #[must_use]
    pub fn outage(mut self, start_in: Duration, duration: Duration, kind: OutageKind) -> Self {
        self.outage = Some(OutageSpec {
            start_in_ms: u64::try_from(start_in.as_millis()).unwrap_or(u64::MAX),
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            kind,
        });
        self
    }

    /// Checks ranges: rates within 0..=1, error status 500..=599, known methods.
    pub fn validate(&self) -> Result<(), FaultError> {
        let rate_ok = |r: f64| r.is_finite() && (0.0..=1.0).contains(&r);
        if !rate_ok(self.error_rate) {
            return Err(FaultError("error_rate must be within 0..=1".into()));
        }
        if let Some(r) = self.decline_rate
            && !rate_ok(r)
        {
            return Err(FaultError("decline_rate must be within 0..=1".into()));
        }
        if let Some(s) = self.error_status
            && !(500..=599).contains(&s)
        {
            return Err(FaultError("error_status must be within 500..=599".into()));
        }
        if let Some(code) = &self.decline_code
            && code.trim().is_empty()
        {
            return Err(FaultError("decline_code must not be empty".into()));
        }
        if let Some(methods) = &self.methods {
            for m in methods {
                let known = ["GET", "POST", "DELETE", "PUT", "PATCH"];
                if !known.contains(&m.to_ascii_uppercase().as_str()) {
                    return Err(FaultError(format!("unknown method {m:?} in methods")));
                }
            }
        }
        Ok(())
    }
}

/// A rejected fault set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultError(pub String);

impl std::fmt::Display for FaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultError {}

/// What to do with one request, decided once by [`Faults::plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// The request falls in an outage window.
    pub outage: Option<OutageKind>,
    /// Latency to add while processing.
    pub latency: Duration,
    /// Answer with this 5xx status instead of (or after) processing.
    pub error: Option<(u16, ErrorPhase)>,
    /// Hang this POST before or after processing.
    pub hang: Option<HangMode>,
    /// How long a hang (or an outage of kind hang) holds the request.
    pub hang_duration: Duration,
    /// Decline the confirmation with this decline code.
    pub decline: Option<String>,
}

/// Parts-per-million resolution keeps the deterministic schedule free of float rounding.
const PPM: u64 = 1_000_000;

fn rate_ppm(rate: f64) -> u64 {
    // Rates are validated to 0..=1, so the product fits.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ppm = (rate.clamp(0.0, 1.0) * PPM as f64).round() as u64;
    ppm
}

/// Request number `n` (1-based) is hit when the running count `floor(n*rate)` steps up.
fn hits(n: u64, ppm: u64) -> bool {
    n.saturating_mul(ppm) / PPM > n.saturating_sub(1).saturating_mul(ppm) / PPM
}

#[derive(Debug)]
struct Active {
    spec: FaultSpec,
    outage: Option<(Instant, Instant, OutageKind)>,
    error_ppm: u64,
    decline_ppm: u64,
    error_counter: AtomicU64,
    decline_counter: AtomicU64,
    hangs_left: Option<AtomicU64>,
}

impl Active {
    fn new(spec: FaultSpec) -> Self {
        let now = Instant::now();
        let outage = spec.outage.as_ref().map(|o| {
            let start = now + Duration::from_millis(o.start_in_ms);
            (start, start + Duration::from_millis(o.duration_ms), o.kind)
        });
        let decline_ppm = if spec.decline_code.is_some() {
            rate_ppm(spec.decline_rate.unwrap_or(1.0))
        } else {
            0
        };
        Self {
            error_ppm: rate_ppm(spec.error_rate),
            decline_ppm,
            outage,
            error_counter: AtomicU64::new(0),
            decline_counter: AtomicU64::new(0),
            hangs_left: spec.hang_count.map(AtomicU64::new),
            spec,
        }
    }

    fn applies_to(&self, method: &str) -> bool {
        match &self.spec.methods {
            None => true,
            Some(ms) => ms.iter().any(|m| m.eq_ignore_ascii_case(method)),
        }
    }

    fn plan(&self, method: &str) -> FaultPlan {
        let hang_duration = Duration::from_millis(self.spec.hang_ms.unwrap_or(DEFAULT_HANG_MS));
        let mut plan = FaultPlan {
            hang_duration,
            ..FaultPlan::default()
        };
        if !self.applies_to(method) {
            return plan;
        }
        if let Some((start, end, kind)) = self.outage {
            let now = Instant::now();
            if now >= start && now < end {
                plan.outage = Some(kind);
                return plan;
            }
        }
        plan.latency = Duration::from_millis(self.spec.latency_ms);
        if self.error_ppm > 0 {
            let n = self.error_counter.fetch_add(1, Ordering::Relaxed) + 1;
            if hits(n, self.error_ppm) {
                plan.error = Some((self.spec.error_status.unwrap_or(500), self.spec.error_phase));
            }
        }
        if method.eq_ignore_ascii_case("POST") {
            if let Some(code) = &self.spec.decline_code
                && self.decline_ppm > 0
            {
                let n = self.decline_counter.fetch_add(1, Ordering::Relaxed) + 1;
                if hits(n, self.decline_ppm) {
                    plan.decline = Some(code.clone());
                }
            }
            if let Some(mode) = self.spec.hang {
                let take = match &self.hangs_left {
                    None => true,
                    Some(left) => left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                        .is_ok(),
                };
                if take {
                    plan.hang = Some(mode);
                }
            }
        }
        plan
    }
}

#[derive(Debug, Default)]
struct Scopes {
    all: Option<Arc<Active>>,
    per_key: HashMap<String, Arc<Active>>,
}

/// The fault registry of one emulator. Cheap to clone; clones share state.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    scopes: Arc<RwLock<Scopes>>,
}

impl Faults {
    /// An empty registry (no faults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs `spec` for its scope (`spec.api_key`, or all keys), replacing the previous set of
    /// that scope and restarting its counters and outage clock.
    pub fn set(&self, spec: FaultSpec) -> Result<(), FaultError> {
        spec.validate()?;
        let active = Arc::new(Active::new(spec));
        let mut scopes = self.scopes.write().unwrap_or_else(PoisonError::into_inner);
        match active.spec.api_key.clone() {
            Some(key) => {
                scopes.per_key.insert(key, active);
            }
            None => scopes.all = Some(active),
        }
        Ok(())
    }

    /// Removes every fault set.
    pub fn clear(&self) {
        let mut scopes = self.scopes.write().unwrap_or_else(PoisonError::into_inner);
        *scopes = Scopes::default();
    }

    /// Removes the set of one scope: `Some(key)` for that key's own set, `None` for the all-keys set.
    pub fn clear_scope(&self, api_key: Option<&str>) {
        let mut scopes = self.scopes.write().unwrap_or_else(PoisonError::into_inner);
        match api_key {
            Some(key) => {
                scopes.per_key.remove(key);
            }
            None => scopes.all = None,
        }
    }

    /// The installed sets: the all-keys set first, then per-key sets ordered by key.
    pub fn list(&self) -> Vec<FaultSpec> {
        let scopes = self.scopes.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<FaultSpec> = scopes.all.iter().map(|a| a.spec.clone()).collect();
        let mut keyed: Vec<FaultSpec> = scopes.per_key.values().map(|a| a.spec.clone()).collect();
        keyed.sort_by(|a, b| a.api_key.cmp(&b.api_key));
        out.extend(keyed);
        out
    }

    /// Decides the faults for one request made with `api_key` and HTTP `method`. Advances the
    /// deterministic counters of the set that applies.
    pub fn plan(&self, api_key: &str, method: &str) -> FaultPlan {
        let active = {
            let scopes = self.scopes.read().unwrap_or_else(PoisonError::into_inner);
            if scopes.all.is_none() && scopes.per_key.is_empty() {
                None
            } else {
                scopes.per_key.get(api_key).or(scopes.all.as_ref()).cloned()
            }
        };
        match active {
            Some(a) => a.plan(method),
            None => FaultPlan {
                hang_duration: Duration::from_millis(DEFAULT_HANG_MS),
                ..FaultPlan::default()
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rate_schedule_is_exact() {
        let ppm = rate_ppm(0.25);
        let hit: Vec<u64> = (1..=12).filter(|n| hits(*n, ppm)).collect();
        assert_eq!(hit, vec![4, 8, 12]);
        assert!((1..=10).all(|n| hits(n, rate_ppm(1.0))));
        assert!((1..=10).all(|n| !hits(n, rate_ppm(0.0))));
        assert_eq!((1..=1000).filter(|n| hits(*n, rate_ppm(0.1))).count(), 100);
    }

    #[test]
    fn key_scope_wins_over_all_keys() {
        let f = Faults::new();
        f.set(FaultSpec::all_keys().error_rate(1.0)).unwrap();
        f.set(FaultSpec::for_key("sk_test_a")).unwrap();
        assert!(f.plan("sk_test_a", "POST").error.is_none());
        assert_eq!(
            f.plan("sk_test_b", "POST").error,
            Some((500, ErrorPhase::Before))
        );
        f.clear_scope(None);
        assert!(f.plan("sk_test_b", "POST").error.is_none());
    }

    #[test]
    fn hang_count_and_methods() {
        let f = Faults::new();
        f.set(FaultSpec::all_keys().hang(HangMode::After).hang_count(1))
            .unwrap();
        assert!(f.plan("k", "GET").hang.is_none());
        assert_eq!(f.plan("k", "POST").hang, Some(HangMode::After));
        assert!(f.plan("k", "POST").hang.is_none());
        f.set(
            FaultSpec::all_keys()
                .methods(&["POST"])
                .latency(Duration::from_millis(5)),
        )
        .unwrap();
        assert_eq!(f.plan("k", "GET").latency, Duration::ZERO);
        assert_eq!(f.plan("k", "POST").latency, Duration::from_millis(5));
    }

    #[test]
    fn validation() {
        assert!(FaultSpec::all_keys().error_rate(1.5).validate().is_err());
        assert!(FaultSpec::all_keys().error_status(404).validate().is_err());
        assert!(
            FaultSpec::all_keys()
                .methods(&["FETCH"])
                .validate()
                .is_err()
        );
        let json = r#"{"api_key":"sk_test_x","latency_ms":5,"outage":{"start_in_ms":0,"duration_ms":10,"kind":"hang"}}"#;
        let spec: FaultSpec = serde_json::from_str(json).unwrap();
        assert_eq!(spec.outage.unwrap().kind, OutageKind::Hang);
        assert!(serde_json::from_str::<FaultSpec>(r#"{"latency":5}"#).is_err());
    }
}
