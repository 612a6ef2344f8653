//! Circuit breaker of one connector: a pure state machine (DESIGN.md §4.6, §5, §7).
//!
//! ```text
//!            failure rate > threshold           cool-down elapsed
//!  Closed ───(with >= min_samples in window)──> Open ───────────────> HalfOpen
//!    ^                                            ^                      │
//!    │                                            └──── probe failed ────┤
//!    └────────────────────── probe succeeded ────────────────────────────┘
//! ```
//!
//! - A *sample* is one finished provider call on the connector. It is a *failure* when its
//!   class is provider-side ([`OutcomeClass::is_provider_failure`]: provider_unavailable,
//!   unknown_outcome, rate_limited, auth_config_error); approvals, declines, customer actions
//!   and validation errors count as healthy samples (the provider answered).
//! - The window is a sliding window of `window_ms` kept in [`BUCKETS`] buckets, so memory is
//!   constant whatever the traffic.
//! - In `HalfOpen`, [`Breaker::admit`] lets at most one probe through every
//!   `probe_interval_ms` (a small, bounded share of the traffic); every other payment sees the
//!   connector as `HalfOpen { probe_budget: 0 }` and routing skips it with a reason.
//! - Operators can force a connector open or closed ([`Forced`]); a forced breaker never
//!   transitions on its own.
//! - Every state carries a `generation` (bumped by each transition) so that several gateways can
//!   share one persisted state with a compare-and-set: see [`Breaker::adopt`].
//!
//! Time is always an argument (`now_ms`, Unix milliseconds UTC); nothing here reads a clock.

use crate::connector::CircuitState;
use crate::outcome::OutcomeClass;
use serde::{Deserialize, Serialize};

/// Number of buckets of the sliding window.
pub const BUCKETS: usize = 10;

/// Per-connector breaker settings (stored as columns on `connectors`, migration 0004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircuitSettings {
    /// Open when failures exceed this share of the window's samples, in percent (1..=100).
    pub failure_threshold_pct: u8,
    /// Sliding window length, milliseconds (>= 100).
    pub window_ms: u64,
    /// Minimum samples in the window before the rate is trusted (>= 1).
    pub min_samples: u32,
    /// Time an open circuit waits before probing, milliseconds.
    pub cooldown_ms: u64,
    /// Half-open: at most one probe per this many milliseconds (per gateway).
    pub probe_interval_ms: u64,
}

impl Default for CircuitSettings {
    /// 50 % failures over 10 s with at least 20 samples; 5 s cool-down; one probe per 200 ms.
    fn default() -> Self {
        CircuitSettings {
            failure_threshold_pct: 50,
            window_ms: 10_000,
            min_samples: 20,
            cooldown_ms: 5_000,
            probe_interval_ms: 200,
        }
    }
}

impl CircuitSettings {
    /// Checks the ranges documented on each field; the error names the field.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(1..=100).contains(&self.failure_threshold_pct) {
            return Err("failure_threshold_pct");
        }
        if self.window_ms < 100 {
            return Err("window_ms");
        }
        if self.min_samples == 0 {
            return Err("min_samples");
        }
        Ok(())
    }
}

/// The breaker's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Healthy.
    Closed,
    /// Failing: never called.
    Open,
    /// Probing.
    HalfOpen,
}

impl Phase {
    /// snake_case name as stored in `connectors.circuit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::Open => "open",
            Phase::HalfOpen => "half_open",
        }
    }
    /// Inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Phase> {
        match s {
            "closed" => Some(Phase::Closed),
            "open" => Some(Phase::Open),
            "half_open" => Some(Phase::HalfOpen),
            _ => None,
        }
    }
}

/// An operator override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Forced {
    /// Kept open until released.
    Open,
    /// Kept closed until released.
    Closed,
}

/// Why a transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransitionReason {
    /// Closed -> Open: `failures` of `samples` in the window were provider-side.
    FailureRate {
        /// Provider-side failures in the window.
        failures: u32,
        /// Samples in the window.
        samples: u32,
    },
    /// Open -> HalfOpen: the cool-down elapsed.
    CooldownElapsed,
    /// HalfOpen -> Closed.
    ProbeSucceeded {
        /// Class of the probe.
        class: OutcomeClass,
    },
    /// HalfOpen -> Open.
    ProbeFailed {
        /// Class of the probe.
        class: OutcomeClass,
    },
}

impl TransitionReason {
    /// One line for the event log and the audit reason.
    pub fn text(&self) -> String {
        match self {
            TransitionReason::FailureRate { failures, samples } => {
                format!("provider-side failures {failures} of {samples} calls in the window")
            }
            TransitionReason::CooldownElapsed => "cool-down elapsed: probing".into(),
            TransitionReason::ProbeSucceeded { class } => {
                format!("probe answered {}", class.as_str())
            }
            TransitionReason::ProbeFailed { class } => format!("probe failed: {}", class.as_str()),
        }
    }
}

/// A state change the breaker made, to be persisted with a compare-and-set on `from_generation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Phase before.
    pub from: Phase,
    /// Phase after.
    pub to: Phase,
    /// Generation before (the persisted row must still have it for the write to apply).
    pub from_generation: u64,
    /// When, Unix milliseconds UTC.
    pub at_ms: u64,
    /// Why.
    pub reason: TransitionReason,
}

/// A breaker state as stored and shared between gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedState {
    /// Phase.
    pub phase: Phase,
    /// When the phase began, Unix milliseconds UTC.
    pub since_ms: u64,
    /// Bumped by every transition.
    pub generation: u64,
    /// Operator override, if any.
    pub forced: Option<Forced>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bucket {
    /// Start of the bucket's slice of time, ms (aligned to the bucket width).
    start_ms: u64,
    samples: u32,
    failures: u32,
}

/// The breaker of one connector in one gateway process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    settings: CircuitSettings,
    phase: Phase,
    since_ms: u64,
    generation: u64,
    forced: Option<Forced>,
    last_probe_ms: Option<u64>,
    buckets: [Bucket; BUCKETS],
}

impl Breaker {
    /// A closed breaker (generation 0) with these settings.
    pub fn new(settings: CircuitSettings) -> Breaker {
        Breaker::from_shared(
            settings,
            SharedState {
                phase: Phase::Closed,
                since_ms: 0,
                generation: 0,
                forced: None,
            },
        )
    }

    /// A breaker in a persisted state, with an empty window.
    pub fn from_shared(settings: CircuitSettings, s: SharedState) -> Breaker {
        let phase = match s.forced {
            Some(Forced::Open) => Phase::Open,
            Some(Forced::Closed) => Phase::Closed,
            None => s.phase,
        };
        Breaker {
            settings,
            phase,
            since_ms: s.since_ms,
            generation: s.generation,
            forced: s.forced,
            last_probe_ms: None,
            buckets: [Bucket::default(); BUCKETS],
        }
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The state to persist / compare with the shared one.
    pub fn shared(&self) -> SharedState {
        SharedState {
            phase: self.phase,
            since_ms: self.since_ms,
            generation: self.generation,
            forced: self.forced,
        }
    }

    /// Settings in use.
    pub fn settings(&self) -> CircuitSettings {
        self.settings
    }

    /// `(failures, samples)` in the window ending at `now_ms`.
    pub fn window(&self, now_ms: u64) -> (u32, u32) {
        let oldest = now_ms.saturating_sub(self.settings.window_ms);
        self.buckets
            .iter()
            .filter(|b| b.samples > 0 && b.start_ms + self.bucket_width() > oldest)
            .fold((0, 0), |(f, s), b| {
                (f.saturating_add(b.failures), s.saturating_add(b.samples))
            })
    }

    /// Adopts a shared (persisted) state if it is at least as new as ours: `generation >=`
    /// ours, or `force` (after a failed compare-and-set, the persisted row is the truth).
    /// Settings are always taken. Returns true when the phase or generation changed.
    pub fn adopt(&mut self, settings: CircuitSettings, s: SharedState, force: bool) -> bool {
        self.settings = settings;
        if !force && s.generation < self.generation {
            return false;
        }
        let before = self.shared();
        let next = Breaker::from_shared(settings, s);
        if next.shared() == before {
            return false;
        }
        let keep_window = next.phase == Phase::Closed && before.phase == Phase::Closed;
        let buckets = self.buckets;
        *self = next;
        if keep_window {
            self.buckets = buckets;
        }
        true
    }

    /// Records one finished provider call of class `class` at `now_ms`. Returns the transition
    /// it caused, if any (the caller persists it). Calls that end while the breaker is open are
    /// late answers and are ignored; a forced breaker never transitions.
    pub fn record(&mut self, class: OutcomeClass, now_ms: u64) -> Option<Transition> {
        if self.forced.is_some() {
            return None;
        }
        let failed = class.is_provider_failure();
        match self.phase {
            Phase::Open => None,
            Phase::HalfOpen => {
                let (to, reason) = if failed {
                    (Phase::Open, TransitionReason::ProbeFailed { class })
                } else {
                    (Phase::Closed, TransitionReason::ProbeSucceeded { class })
                };
                Some(self.transition(to, now_ms, reason))
            }
            Phase::Closed => {
                self.add_sample(failed, now_ms);
                let (failures, samples) = self.window(now_ms);
                let over = u64::from(failures) * 100
                    > u64::from(self.settings.failure_threshold_pct) * u64::from(samples);
                (samples >= self.settings.min_samples && over).then(|| {
                    self.transition(
                        Phase::Open,
                        now_ms,
                        TransitionReason::FailureRate { failures, samples },
                    )
                })
            }
        }
    }

    /// Moves an open breaker to half-open once its cool-down has elapsed at `now_ms`.
    pub fn advance(&mut self, now_ms: u64) -> Option<Transition> {
        match (self.phase, self.forced) {
            (Phase::Open, None)
                if now_ms >= self.since_ms.saturating_add(self.settings.cooldown_ms) =>
            {
                Some(self.transition(Phase::HalfOpen, now_ms, TransitionReason::CooldownElapsed))
            }
            (Phase::Open | Phase::Closed | Phase::HalfOpen, None | Some(_)) => None,
        }
    }

    /// The state routing should see for one payment at `now_ms`. In half-open this admits (and
    /// counts) at most one probe per `probe_interval_ms`: `HalfOpen { probe_budget: 1 }` for the
    /// admitted payment, `HalfOpen { probe_budget: 0 }` for the others. Does not advance an
    /// open breaker (call [`Self::advance`] first).
    pub fn admit(&mut self, now_ms: u64) -> CircuitState {
        match self.phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open => CircuitState::Open,
            Phase::HalfOpen => {
                let due = match self.last_probe_ms {
                    None => true,
                    Some(last) => {
                        now_ms >= last.saturating_add(self.settings.probe_interval_ms)
                            || now_ms < last
                    }
                };
                if due {
                    self.last_probe_ms = Some(now_ms);
                }
                CircuitState::HalfOpen {
                    probe_budget: u32::from(due),
                }
            }
        }
    }

    /// Sets or releases an operator override at `now_ms` (the caller persists the result).
    /// Forcing open opens, forcing closed closes with an empty window, releasing keeps the
    /// current phase and resumes automatic transitions.
    pub fn force(&mut self, forced: Option<Forced>, now_ms: u64) -> SharedState {
        let phase = match forced {
            Some(Forced::Open) => Phase::Open,
            Some(Forced::Closed) => Phase::Closed,
            None => self.phase,
        };
        if phase != self.phase {
            self.buckets = [Bucket::default(); BUCKETS];
            self.since_ms = now_ms;
        }
        self.phase = phase;
        self.forced = forced;
        self.generation = self.generation.saturating_add(1);
        self.last_probe_ms = None;
        self.shared()
    }

    fn transition(&mut self, to: Phase, now_ms: u64, reason: TransitionReason) -> Transition {
        let t = Transition {
            from: self.phase,
            to,
            from_generation: self.generation,
            at_ms: now_ms,
            reason,
        };
        self.phase = to;
        self.since_ms = now_ms;
        self.generation = self.generation.saturating_add(1);
        self.last_probe_ms = None;
        self.buckets = [Bucket::default(); BUCKETS];
        t
    }

    fn bucket_width(&self) -> u64 {
        (self.settings.window_ms / BUCKETS as u64).max(1)
    }

    fn add_sample(&mut self, failed: bool, now_ms: u64) {
        let width = self.bucket_width();
        let start = now_ms - now_ms % width;
        let slot = usize::try_from((now_ms / width) % BUCKETS as u64).unwrap_or(0);
        if let Some(b) = self.buckets.get_mut(slot) {
            if b.start_ms != start {
                *b = Bucket {
                    start_ms: start,
                    samples: 0,
                    failures: 0,
                };
            }
            b.samples = b.samples.saturating_add(1);
            b.failures = b.failures.saturating_add(u32::from(failed));
        }
    }
}
