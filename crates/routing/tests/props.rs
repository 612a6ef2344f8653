//! Property tests of the routing invariants (DESIGN.md §4, §5, §10).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::id;
use proptest::prelude::*;
use routing::{
    Capabilities, CaptureMode, CircuitState, Condition, Connector, ConnectorStatus, Country,
    Currency, FallbackAction, FallbackMatrix, Mode, NextStep, OutcomeClass, PaymentContext,
    PaymentMethodType, PaymentToken, Policy, Provider, RouteSource, Rule, RuleAction, StepInput,
    Test, TokenScope, Verdict, decide, decide_explained, next_step,
};
use std::collections::{BTreeMap, BTreeSet};

const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
const COUNTRIES: [&str; 3] = ["DE", "US", "FR"];
const METHODS: [PaymentMethodType; 3] = [
    PaymentMethodType::Card,
    PaymentMethodType::Wallet,
    PaymentMethodType::Bank,
];
const CAPTURES: [CaptureMode; 2] = [CaptureMode::Automatic, CaptureMode::Manual];
const PROVIDERS: [Provider; 5] = [
    Provider::Stripe,
    Provider::Square,
    Provider::Braintree,
    Provider::Mollie,
    Provider::Simulator,
];
/// Connector ids used in generated inputs are 1..=MAX_CONNECTORS (rules may also name 1..=10).
const MAX_CONNECTORS: usize = 8;

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(&CURRENCIES[..]).prop_map(|c| Currency::parse(c).unwrap())
}
fn country() -> impl Strategy<Value = Country> {
    prop::sample::select(&COUNTRIES[..]).prop_map(|c| Country::parse(c).unwrap())
}
fn method() -> impl Strategy<Value = PaymentMethodType> {
    prop::sample::select(&METHODS[..])
}
fn capture() -> impl Strategy<Value = CaptureMode> {
    prop::sample::select(&CAPTURES[..])
}
fn provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(&PROVIDERS[..])
}
fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![4 => Just(Mode::Live), 1 => Just(Mode::Test)]
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    (
        prop_oneof![2 => Just(BTreeSet::new()), 1 => prop::collection::btree_set(currency(), 1..3)],
        prop_oneof![2 => Just(BTreeSet::new()), 1 => prop::collection::btree_set(country(), 1..3)],
        prop_oneof![3 => Just(BTreeSet::from([PaymentMethodType::Card])), 1 => prop::collection::btree_set(method(), 0..3)],
        prop_oneof![3 => Just(BTreeSet::from(CAPTURES)), 1 => prop::collection::btree_set(capture(), 0..2)],
        any::<bool>(),
    )
        .prop_map(|(currencies, countries, methods, capture_modes, accepts_portable_tokens)| Capabilities {
            currencies,
            countries,
            methods,
            capture_modes,
            accepts_portable_tokens,
        })
}

fn connectors() -> impl Strategy<Value = Vec<Connector>> {
    let one = (
        provider(),
        mode(),
        prop_oneof![2 => Just(0u32), 3 => 1u32..100],
        prop::bool::weighted(0.25),
        prop_oneof![5 => Just(ConnectorStatus::Active), 1 => Just(ConnectorStatus::Disabled)],
        capabilities(),
        prop_oneof![
            5 => Just(CircuitState::Closed),
            1 => Just(CircuitState::Open),
            1 => (0u32..3).prop_map(|probe_budget| CircuitState::HalfOpen { probe_budget })
        ],
        0i64..4,
    );
    prop::collection::vec(one, 0..=MAX_CONNECTORS).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    (
                        provider,
                        mode,
                        weight,
                        is_primary,
                        status,
                        capabilities,
                        circuit,
                        created_seq,
                    ),
                )| Connector {
                    id: id(i as u128 + 1),
                    name: format!("c{}", i + 1),
                    provider,
                    mode,
                    weight,
                    is_primary,
                    status,
                    capabilities,
                    circuit,
                    created_seq,
                },
            )
            .collect()
    })
}

fn token() -> impl Strategy<Value = PaymentToken> {
    prop_oneof![
        (1u128..=MAX_CONNECTORS as u128).prop_map(|n| TokenScope::Connector {
            connector_id: id(n)
        }),
        provider().prop_map(|provider| TokenScope::Provider { provider }),
        Just(TokenScope::Portable),
    ]
    .prop_map(|scope| PaymentToken {
        token: "tok".into(),
        scope,
    })
}

fn context() -> impl Strategy<Value = PaymentContext> {
    (
        1i64..100_000,
        currency(),
        country(),
        method(),
        prop::option::of(prop::sample::select(&["visa", "amex"][..])),
        capture(),
        prop::collection::vec(token(), 1..4),
        prop::option::of(prop::sample::select(&["app", "web"][..])),
    )
        .prop_map(
            |(amount, cur, cty, method, brand, capture, tokens, channel)| {
                let metadata: BTreeMap<String, String> = channel
                    .map(|c| ("channel".to_owned(), c.to_owned()))
                    .into_iter()
                    .collect();
                PaymentContext::new(
                    amount,
                    cur.as_str(),
                    cty.as_str(),
                    method,
                    brand.map(str::to_owned),
                    capture,
                    tokens,
                    metadata,
                )
                .unwrap()
            },
        )
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        currency().prop_map(|c| Condition::Currency { test: Test::Eq(c) }),
        prop::collection::vec(currency(), 0..3).prop_map(|c| Condition::Currency {
            test: Test::NotIn(c)
        }),
        (0i64..100_000).prop_map(|a| Condition::Amount { test: Test::Lt(a) }),
        (0i64..100_000, 0i64..100_000).prop_map(|(a, b)| Condition::Amount {
            test: Test::Between(a, b)
        }),
        country().prop_map(|c| Condition::Country { test: Test::Ne(c) }),
        method().prop_map(|m| Condition::PaymentMethod { test: Test::Eq(m) }),
        prop::sample::select(&["visa", "amex"][..]).prop_map(|b| Condition::CardBrand {
            test: Test::Eq(b.into())
        }),
        capture().prop_map(|c| Condition::CaptureMode { test: Test::Eq(c) }),
        prop::sample::select(&["app", "web"][..]).prop_map(|v| Condition::Metadata {
            key: "channel".into(),
            test: Test::In(vec![v.into()])
        }),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    let action = prop_oneof![
        prop::collection::vec(1u128..=10, 0..5).prop_map(|ids| RuleAction::Path {
            connectors: ids.into_iter().map(id).collect()
        }),
        prop::collection::vec((1u128..=10, 0u32..5), 0..5).prop_map(|w| RuleAction::Split {
            weights: w.into_iter().map(|(n, w)| (id(n), w)).collect()
        }),
    ];
    let rule =
        (prop::collection::vec(condition(), 0..3), action).prop_map(|(conditions, action)| Rule {
            name: "r".into(),
            conditions,
            action,
        });
    (prop::collection::vec(rule, 0..4), 0u8..6).prop_map(|(rules, max_attempts)| Policy {
        rules,
        max_attempts,
        ..Policy::default()
    })
}

fn roll() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0f64..1.0,
        1 => any::<u64>().prop_map(f64::from_bits),
        1 => prop::sample::select(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.0, -0.0, f64::MIN_POSITIVE][..]),
    ]
}

/// Eligibility, written independently of the crate (DESIGN.md §4.5, §4.6, §5 tokens).
fn eligible(ctx: &PaymentContext, c: &Connector, mode: Mode) -> bool {
    let caps = &c.capabilities;
    c.status == ConnectorStatus::Active
        && c.mode == mode
        && match c.circuit {
            CircuitState::Closed => true,
            CircuitState::Open => false,
            CircuitState::HalfOpen { probe_budget } => probe_budget > 0,
        }
        && (caps.currencies.is_empty() || caps.currencies.contains(&ctx.money.currency))
        && (caps.countries.is_empty() || caps.countries.contains(&ctx.country))
        && caps.methods.contains(&ctx.method)
        && caps.capture_modes.contains(&ctx.capture)
        && ctx.tokens.iter().any(|t| match &t.scope {
            TokenScope::Connector { connector_id } => *connector_id == c.id,
            TokenScope::Provider { provider } => *provider == c.provider,
            TokenScope::Portable => caps.accepts_portable_tokens,
        })
}

fn rule_ids(rule: &Rule) -> Vec<routing::ConnectorId> {
    match &rule.action {
        RuleAction::Path { connectors } => connectors.clone(),
        RuleAction::Split { weights } => weights.iter().map(|(i, _)| *i).collect(),
    }
}

fn fallback_action() -> impl Strategy<Value = FallbackAction> {
    prop_oneof![
        Just(FallbackAction::Stop),
        Just(FallbackAction::FallBack),
        any::<u8>().prop_map(|max| FallbackAction::Retry { max }),
    ]
}
fn matrix() -> impl Strategy<Value = FallbackMatrix> {
    (
        fallback_action(),
        fallback_action(),
        fallback_action(),
        fallback_action(),
    )
        .prop_map(|(a, b, c, d)| FallbackMatrix {
            soft_decline: a,
            auth_config_error: b,
            rate_limited: c,
            provider_unavailable: d,
        })
}
fn step_input(class: OutcomeClass) -> impl Strategy<Value = StepInput> {
    (
        any::<bool>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::option::of(1u128..10),
    )
        .prop_map(
            move |(reconciled, calls_made, max_calls, calls_on_current, next)| StepInput {
                class,
                reconciled,
                calls_made,
                max_calls,
                calls_on_current,
                next_connector: next.map(id),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (a) A rule match ignores weights: any change of every connector's weight keeps the path.
    #[test]
    fn rule_match_ignores_weights(
        ctx in context(), cs in connectors(), p in policy(), mode in mode(), roll in roll(),
        new_weights in prop::collection::vec(0u32..1000, MAX_CONNECTORS),
    ) {
        let d = decide(&ctx, &cs, &p, mode, roll);
        if let RouteSource::Rule { index, .. } = &d.trace.source {
            let rule = &p.rules[*index as usize];
            let listed = rule_ids(rule);
            prop_assert!(d.path.iter().all(|c| listed.contains(c)), "path outside the rule");
            let reweighted: Vec<Connector> = cs.iter().zip(&new_weights)
                .map(|(c, w)| Connector { weight: *w, ..c.clone() })
                .collect();
            let d2 = decide(&ctx, &reweighted, &p, mode, roll);
            prop_assert_eq!(&d.path, &d2.path);
            prop_assert_eq!(&d.trace.source, &d2.trace.source);
        }
    }

    /// (c) Same inputs + same roll = same decision.
    #[test]
    fn decisions_are_deterministic(ctx in context(), cs in connectors(), p in policy(), mode in mode(), roll in roll()) {
        let a = decide(&ctx, &cs, &p, mode, roll);
        let b = decide(&ctx, &cs, &p, mode, roll);
        prop_assert_eq!(a, b);
    }

    /// (d) A weight-0 connector that is not the primary never appears in a default route, and the
    /// primary, when eligible, ends it unless the cap cut it off.
    #[test]
    fn weight_zero_never_in_default_route(ctx in context(), cs in connectors(), mode in mode(), roll in roll(), max in 0u8..6) {
        let p = Policy { max_attempts: max, ..Policy::default() };
        let d = decide(&ctx, &cs, &p, mode, roll);
        let primary = cs.iter().find(|c| c.is_primary && c.mode == mode);
        for cid in &d.path {
            let c = cs.iter().find(|c| c.id == *cid).unwrap();
            prop_assert!(c.weight > 0 || Some(c.id) == primary.map(|p| p.id), "{} has weight 0", c.name);
        }
        let cap = usize::from(max.max(1));
        if let Some(pr) = primary && eligible(&ctx, pr, mode) && d.path.len() < cap {
            // Last resort, unless the primary (weight > 0) won the weighted pick itself.
            prop_assert!(
                d.path.last() == Some(&pr.id) || (pr.weight > 0 && d.path.first() == Some(&pr.id)),
                "primary neither ends the route nor won the pick"
            );
            prop_assert_eq!(d.path.iter().filter(|c| **c == pr.id).count(), 1);
        }
        // With no rules the source is never a rule, and an empty path means nothing eligible.
        let no_eligible = !cs.iter().any(|c| eligible(&ctx, c, mode) && (c.weight > 0 || Some(c.id) == primary.map(|p| p.id)));
        prop_assert_eq!(d.path.is_empty(), no_eligible);
    }

    /// (e) The path never holds an ineligible connector, never repeats one, respects the cap, and
    /// the trace has one entry per connector agreeing with the path.
    #[test]
    fn path_is_eligible_unique_and_capped(ctx in context(), cs in connectors(), p in policy(), mode in mode(), roll in roll()) {
        let d = decide_explained(&ctx, &cs, &p, mode, roll);
        prop_assert!(d.path.len() <= usize::from(p.max_attempts.max(1)));
        let unique: BTreeSet<_> = d.path.iter().collect();
        prop_assert_eq!(unique.len(), d.path.len(), "duplicate in path");
        for cid in &d.path {
            let c = cs.iter().find(|c| c.id == *cid).unwrap();
            prop_assert!(eligible(&ctx, c, mode), "{} is not eligible", c.name);
        }
        prop_assert_eq!(d.trace.entries.len(), cs.len());
        for (e, c) in d.trace.entries.iter().zip(&cs) {
            prop_assert_eq!(e.connector_id, c.id);
            prop_assert!(e.explanation.starts_with(&c.name));
            match &e.verdict {
                Verdict::Selected { position, .. } => prop_assert_eq!(d.path.get(*position as usize), Some(&c.id)),
                Verdict::Skipped { .. } => prop_assert!(!d.path.contains(&c.id)),
            }
        }
        prop_assert_eq!(d.trace.explain().lines().count(), cs.len() + 1);
    }

    /// `decide_explained` is `decide` plus the texts: same path, source, names and verdicts; the
    /// texts are non-empty and are what `fill_explanations` and `explain` render from the bare one.
    #[test]
    fn decide_explained_is_decide_plus_texts(ctx in context(), cs in connectors(), p in policy(), mode in mode(), roll in roll()) {
        let bare = decide(&ctx, &cs, &p, mode, roll);
        let d = decide_explained(&ctx, &cs, &p, mode, roll);
        prop_assert_eq!(&bare.path, &d.path);
        prop_assert_eq!(&bare.trace.source, &d.trace.source);
        prop_assert_eq!(bare.trace.entries.len(), d.trace.entries.len());
        for (b, e) in bare.trace.entries.iter().zip(&d.trace.entries) {
            prop_assert_eq!(b.connector_id, e.connector_id);
            prop_assert_eq!(&b.connector_name, &e.connector_name);
            prop_assert_eq!(&b.verdict, &e.verdict);
            prop_assert!(b.explanation.is_empty());
            prop_assert!(!e.explanation.is_empty());
            prop_assert!(e.explanation.starts_with(&e.connector_name));
        }
        prop_assert_eq!(bare.trace.explain(), d.trace.explain());
        let mut filled = bare.clone();
        filled.trace.fill_explanations();
        prop_assert_eq!(&filled, &d);
        // Filling twice changes nothing.
        filled.trace.fill_explanations();
        prop_assert_eq!(&filled, &d);
    }

    /// (f) decide never panics, whatever the roll (NaN, infinities, subnormals, huge values), and
    /// the roll it reports is in [0, 1).
    #[test]
    fn decide_never_panics(ctx in context(), cs in connectors(), p in policy(), bits in any::<u64>()) {
        let roll = f64::from_bits(bits);
        let d = decide(&ctx, &cs, &p, Mode::Live, roll);
        if let RouteSource::Weighted { roll: r } = d.trace.source {
            prop_assert!((0.0..1.0).contains(&r), "roll {r}");
        }
    }

    /// (b) A hard decline never falls back (nor retries), whatever the matrix and counters.
    #[test]
    fn hard_decline_never_falls_back(m in matrix(), input in step_input(OutcomeClass::HardDecline)) {
        prop_assert_eq!(next_step(&m, input), NextStep::Stop);
    }

    /// An unknown outcome never falls back while a charge may exist.
    #[test]
    fn unknown_never_falls_back(m in matrix(), input in step_input(OutcomeClass::UnknownOutcome)) {
        let want = if input.reconciled { NextStep::StopUnknown } else { NextStep::Reconcile };
        prop_assert_eq!(next_step(&m, input), want);
    }

    /// No class falls back or retries past the cap, and a fallback always names the next connector.
    #[test]
    fn next_step_respects_cap(m in matrix(), class in prop::sample::select(&OutcomeClass::ALL[..]), seed in step_input(OutcomeClass::Approved)) {
        let input = StepInput { class, ..seed };
        match next_step(&m, input) {
            NextStep::FallBack { to } => {
                prop_assert!(input.calls_made < input.max_calls);
                prop_assert_eq!(Some(to), input.next_connector);
            }
            NextStep::RetrySame => prop_assert!(input.calls_made < input.max_calls),
            NextStep::Succeed => prop_assert_eq!(class, OutcomeClass::Approved),
            NextStep::Stop | NextStep::Reconcile | NextStep::StopUnknown | NextStep::PathExhausted | NextStep::CapReached => {}
        }
    }
}
