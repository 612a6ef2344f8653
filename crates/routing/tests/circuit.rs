//! Circuit breaker: a table test per transition and property tests over random event sequences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use proptest::prelude::*;
use routing::{
    Breaker, CircuitSettings, CircuitState, Forced, OutcomeClass, Phase, SharedState,
    TransitionReason,
};

const OK: OutcomeClass = OutcomeClass::Approved;
const DOWN: OutcomeClass = OutcomeClass::ProviderUnavailable;

fn settings() -> CircuitSettings {
    CircuitSettings {
        failure_threshold_pct: 50,
        window_ms: 1_000,
        min_samples: 4,
        cooldown_ms: 500,
        probe_interval_ms: 100,
    }
}

fn open_breaker(at: u64) -> Breaker {
    let mut b = Breaker::new(settings());
    for i in 0..4 {
        b.record(DOWN, at + i);
    }
    assert_eq!(b.phase(), Phase::Open);
    b
}

fn half_open_breaker() -> Breaker {
    let mut b = open_breaker(0);
    assert!(b.advance(1_000).is_some());
    assert_eq!(b.phase(), Phase::HalfOpen);
    b
}

#[test]
fn closed_stays_closed_below_min_samples() {
    let mut b = Breaker::new(settings());
    for i in 0..3 {
        assert_eq!(b.record(DOWN, i), None);
    }
    assert_eq!(b.phase(), Phase::Closed);
    assert_eq!(b.window(3), (3, 3));
}

#[test]
fn closed_to_open_when_rate_exceeds_threshold_with_min_samples() {
    let mut b = Breaker::new(settings());
    b.record(OK, 0);
    b.record(DOWN, 1);
    b.record(DOWN, 2);
    // 2 of 3: not enough samples yet.
    assert_eq!(b.phase(), Phase::Closed);
    let t = b.record(DOWN, 3).expect("opens");
    assert_eq!(
        (t.from, t.to, t.from_generation),
        (Phase::Closed, Phase::Open, 0)
    );
    assert_eq!(
        t.reason,
        TransitionReason::FailureRate {
            failures: 3,
            samples: 4
        }
    );
    assert_eq!(b.shared().generation, 1);
    assert_eq!(b.shared().since_ms, 3);
}

#[test]
fn exactly_the_threshold_does_not_open() {
    let mut b = Breaker::new(settings());
    for (i, c) in [OK, DOWN, OK, DOWN].into_iter().enumerate() {
        assert_eq!(b.record(c, i as u64), None, "50 % is not above 50 %");
    }
    assert_eq!(b.phase(), Phase::Closed);
}

#[test]
fn declines_and_validation_errors_never_count_as_failures() {
    let mut b = Breaker::new(settings());
    for (i, c) in [
        OutcomeClass::HardDecline,
        OutcomeClass::SoftDecline,
        OutcomeClass::ValidationError,
        OutcomeClass::NeedsCustomerAction,
        OutcomeClass::HardDecline,
        OutcomeClass::SoftDecline,
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(b.record(c, i as u64), None);
    }
    assert_eq!(b.window(10), (0, 6));
}

#[test]
fn every_provider_side_class_counts() {
    for c in [
        OutcomeClass::ProviderUnavailable,
        OutcomeClass::UnknownOutcome,
        OutcomeClass::RateLimited,
        OutcomeClass::AuthConfigError,
    ] {
        let mut b = Breaker::new(settings());
        for i in 0..4 {
            b.record(c, i);
        }
        assert_eq!(b.phase(), Phase::Open, "{c:?}");
    }
}

#[test]
fn old_samples_leave_the_window() {
    let mut b = Breaker::new(settings());
    for i in 0..3 {
        b.record(DOWN, i);
    }
    // 2 s later the three failures are out of the 1 s window.
    assert_eq!(b.record(DOWN, 2_000), None);
    assert_eq!(b.window(2_000), (1, 1));
    assert_eq!(b.phase(), Phase::Closed);
}

#[test]
fn open_excludes_and_ignores_late_answers() {
    let mut b = open_breaker(0);
    assert_eq!(b.admit(10), CircuitState::Open);
    assert_eq!(b.record(OK, 20), None);
    assert_eq!(b.record(DOWN, 21), None);
    assert_eq!(b.phase(), Phase::Open);
}

#[test]
fn open_to_half_open_after_cooldown_only() {
    let mut b = open_breaker(0);
    assert_eq!(b.advance(3 + 499), None);
    let t = b.advance(3 + 500).expect("half-open");
    assert_eq!((t.from, t.to), (Phase::Open, Phase::HalfOpen));
    assert_eq!(t.reason, TransitionReason::CooldownElapsed);
    assert_eq!(t.from_generation, 1);
}

#[test]
fn half_open_admits_one_probe_per_interval() {
    let mut b = half_open_breaker();
    assert_eq!(b.admit(1_000), CircuitState::HalfOpen { probe_budget: 1 });
    assert_eq!(b.admit(1_001), CircuitState::HalfOpen { probe_budget: 0 });
    assert_eq!(b.admit(1_099), CircuitState::HalfOpen { probe_budget: 0 });
    assert_eq!(b.admit(1_100), CircuitState::HalfOpen { probe_budget: 1 });
}

#[test]
fn half_open_success_closes() {
    let mut b = half_open_breaker();
    let t = b.record(OutcomeClass::SoftDecline, 1_010).expect("closes");
    assert_eq!((t.from, t.to), (Phase::HalfOpen, Phase::Closed));
    assert_eq!(b.admit(1_011), CircuitState::Closed);
    assert_eq!(b.window(1_011), (0, 0), "closing starts a fresh window");
}

#[test]
fn half_open_failure_reopens_and_restarts_cooldown() {
    let mut b = half_open_breaker();
    let t = b
        .record(OutcomeClass::UnknownOutcome, 1_010)
        .expect("reopens");
    assert_eq!((t.from, t.to), (Phase::HalfOpen, Phase::Open));
    assert_eq!(b.advance(1_509), None);
    assert!(b.advance(1_510).is_some());
}

#[test]
fn forced_open_never_moves_and_release_resumes() {
    let mut b = Breaker::new(settings());
    let s = b.force(Some(Forced::Open), 5);
    assert_eq!(
        (s.phase, s.forced, s.generation),
        (Phase::Open, Some(Forced::Open), 1)
    );
    assert_eq!(b.advance(1_000_000), None);
    assert_eq!(b.record(OK, 1_000_001), None);
    assert_eq!(b.admit(1_000_002), CircuitState::Open);
    let s = b.force(None, 1_000_003);
    assert_eq!((s.phase, s.forced), (Phase::Open, None));
    assert!(
        b.advance(1_000_003).is_some(),
        "released: cool-down counts from the force"
    );
}

#[test]
fn forced_closed_ignores_failures() {
    let mut b = open_breaker(0);
    b.force(Some(Forced::Closed), 10);
    for i in 0..100 {
        assert_eq!(b.record(DOWN, 20 + i), None);
    }
    assert_eq!(b.admit(200), CircuitState::Closed);
}

#[test]
fn adopt_takes_newer_or_equal_generation_only() {
    let mut b = Breaker::new(settings());
    let shared = SharedState {
        phase: Phase::Open,
        since_ms: 100,
        generation: 3,
        forced: None,
    };
    assert!(b.adopt(settings(), shared, false));
    assert_eq!(b.phase(), Phase::Open);
    let older = SharedState {
        phase: Phase::Closed,
        since_ms: 50,
        generation: 2,
        forced: None,
    };
    assert!(!b.adopt(settings(), older, false));
    assert_eq!(b.phase(), Phase::Open);
    assert!(
        b.adopt(settings(), older, true),
        "forced adoption after a lost compare-and-set"
    );
    assert_eq!(b.phase(), Phase::Closed);
    assert!(!b.adopt(settings(), older, false), "same state: no change");
}

#[test]
fn settings_validation_names_the_field() {
    let mut s = settings();
    assert_eq!(s.validate(), Ok(()));
    s.failure_threshold_pct = 0;
    assert_eq!(s.validate(), Err("failure_threshold_pct"));
    s = settings();
    s.window_ms = 10;
    assert_eq!(s.validate(), Err("window_ms"));
    s = settings();
    s.min_samples = 0;
    assert_eq!(s.validate(), Err("min_samples"));
    assert_eq!(CircuitSettings::default().validate(), Ok(()));
}

#[derive(Debug, Clone)]
enum Ev {
    Record(OutcomeClass, u64),
    Advance(u64),
    Admit(u64),
    Force(Option<Forced>, u64),
}

fn ev() -> impl Strategy<Value = Ev> {
    let class = prop::sample::select(OutcomeClass::ALL.to_vec());
    let dt = 0u64..400;
    let forced = prop::option::of(prop::sample::select(vec![Forced::Open, Forced::Closed]));
    prop_oneof![
        8 => (class, dt.clone()).prop_map(|(c, d)| Ev::Record(c, d)),
        2 => dt.clone().prop_map(Ev::Advance),
        2 => dt.clone().prop_map(Ev::Admit),
        1 => (forced, dt).prop_map(|(f, d)| Ev::Force(f, d)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every transition follows an edge of the diagram, bumps the generation by one, opens only
    /// with enough samples over the threshold, closes/reopens only from half-open on a matching
    /// probe class, and half-open only after the cool-down; forced breakers never transition;
    /// open never admits; half-open admits at most one probe per interval.
    #[test]
    fn transitions_follow_the_state_machine(events in prop::collection::vec(ev(), 1..200)) {
        let s = settings();
        let mut b = Breaker::new(s);
        let mut now = 0u64;
        let mut last_admitted: Option<u64> = None;
        for e in events {
            let before = b.clone();
            let t = match e {
                Ev::Record(c, d) => { now += d; b.record(c, now) }
                Ev::Advance(d) => { now += d; b.advance(now) }
                Ev::Admit(d) => {
                    now += d;
                    let st = b.admit(now);
                    match (before.phase(), st) {
                        (Phase::Closed, CircuitState::Closed) | (Phase::Open, CircuitState::Open) => {}
                        (Phase::HalfOpen, CircuitState::HalfOpen { probe_budget }) => {
                            prop_assert!(probe_budget <= 1);
                            if probe_budget == 1 {
                                if let Some(l) = last_admitted {
                                    prop_assert!(now >= l + s.probe_interval_ms);
                                }
                                last_admitted = Some(now);
                            }
                        }
                        (p, st) => prop_assert!(false, "phase {:?} admitted {:?}", p, st),
                    }
                    None
                }
                Ev::Force(f, d) => {
                    now += d;
                    let sh = b.force(f, now);
                    prop_assert_eq!(sh.generation, before.shared().generation + 1);
                    prop_assert_eq!(sh.forced, f);
                    last_admitted = None;
                    None
                }
            };
            if !(before.phase() == Phase::HalfOpen && b.phase() == Phase::HalfOpen) {
                last_admitted = None;
            }
            match t {
                None => {
                    if !matches!(e, Ev::Force(..)) {
                        prop_assert_eq!(b.phase(), before.phase());
                        prop_assert_eq!(b.shared().generation, before.shared().generation);
                    }
                }
                Some(t) => {
                    prop_assert!(before.shared().forced.is_none(), "forced breakers never transition");
                    prop_assert_eq!(t.from, before.phase());
                    prop_assert_eq!(t.to, b.phase());
                    prop_assert_eq!(t.from_generation, before.shared().generation);
                    prop_assert_eq!(b.shared().generation, t.from_generation + 1);
                    prop_assert_eq!(b.shared().since_ms, now);
                    match (t.from, t.to, t.reason) {
                        (Phase::Closed, Phase::Open, TransitionReason::FailureRate { failures, samples }) => {
                            prop_assert!(samples >= s.min_samples);
                            prop_assert!(u64::from(failures) * 100 > u64::from(s.failure_threshold_pct) * u64::from(samples));
                        }
                        (Phase::Open, Phase::HalfOpen, TransitionReason::CooldownElapsed) => {
                            prop_assert!(now >= before.shared().since_ms + s.cooldown_ms);
                        }
                        (Phase::HalfOpen, Phase::Closed, TransitionReason::ProbeSucceeded { class }) => {
                            prop_assert!(!class.is_provider_failure());
                        }
                        (Phase::HalfOpen, Phase::Open, TransitionReason::ProbeFailed { class }) => {
                            prop_assert!(class.is_provider_failure());
                        }
                        other => prop_assert!(false, "illegal transition {:?}", other),
                    }
                }
            }
        }
    }

    /// Without provider-side failures a breaker never opens, whatever the traffic.
    #[test]
    fn healthy_traffic_never_opens(classes in prop::collection::vec(
        prop::sample::select(vec![OutcomeClass::Approved, OutcomeClass::HardDecline,
            OutcomeClass::SoftDecline, OutcomeClass::ValidationError,
            OutcomeClass::NeedsCustomerAction]), 0..500)) {
        let mut b = Breaker::new(settings());
        for (i, c) in classes.into_iter().enumerate() {
            prop_assert_eq!(b.record(c, i as u64), None);
        }
        prop_assert_eq!(b.phase(), Phase::Closed);
    }

    /// Only failures above the threshold with min samples in the window open it: a run of
    /// n failures in a fresh window opens exactly at the min_samples-th one.
    #[test]
    fn failures_open_at_min_samples(n in 1u32..50) {
        let mut b = Breaker::new(settings());
        for i in 0..n {
            let t = b.record(DOWN, u64::from(i));
            prop_assert_eq!(t.is_some(), i + 1 == settings().min_samples);
        }
    }
}
