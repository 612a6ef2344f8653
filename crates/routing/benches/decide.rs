//! Benchmarks of one `decide()` call: 100 rules where only the last matches, and the default
//! weighted route, both over 20 connectors.
//!
//! Run: `cargo bench -p routing --bench decide -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use routing::{
    Capabilities, CaptureMode, CircuitState, Condition, Connector, ConnectorId, ConnectorStatus,
    Country, Currency, Mode, PaymentContext, PaymentMethodType, PaymentToken, Policy, Provider,
    Rule, RuleAction, Test, TokenScope, decide,
};
use std::collections::BTreeMap;
use std::hint::black_box;

const PROVIDERS: [Provider; 4] = [
    Provider::Stripe,
    Provider::Square,
    Provider::Braintree,
    Provider::Mollie,
];

fn id(n: usize) -> ConnectorId {
    ConnectorId(uuid::Uuid::from_u128(n as u128 + 1))
}

fn cur(c: &str) -> Currency {
    Currency::parse(c).unwrap_or_else(|e| unreachable!("{e}"))
}
fn cty(c: &str) -> Country {
    Country::parse(c).unwrap_or_else(|e| unreachable!("{e}"))
}

/// 20 live connectors over 4 providers: mixed weights (some 0), currencies, one primary, one
/// disabled, one with an open circuit, one half-open, one in test mode.
fn connectors() -> Vec<Connector> {
    (0..20)
        .map(|i| {
            let mut capabilities = Capabilities::cards_anywhere();
            capabilities.accepts_portable_tokens = i % 3 == 0;
            if i % 4 == 1 {
                capabilities.currencies = [cur("EUR"), cur("GBP"), cur("USD")].into();
            }
            if i % 5 == 2 {
                capabilities.countries = [cty("DE"), cty("FR"), cty("NL"), cty("AT")].into();
            }
            Connector {
                id: id(i),
                name: format!("{} account {i}", PROVIDERS[i % 4].as_str()),
                provider: PROVIDERS[i % 4],
                mode: if i == 17 { Mode::Test } else { Mode::Live },
                weight: [0, 10, 25, 40, 5][i % 5],
                is_primary: i == 0,
                status: if i == 13 {
                    ConnectorStatus::Disabled
                } else {
                    ConnectorStatus::Active
                },
                capabilities,
                circuit: match i {
                    7 => CircuitState::Open,
                    11 => CircuitState::HalfOpen { probe_budget: 2 },
                    _ => CircuitState::Closed,
                },
                created_seq: i as i64,
            }
        })
        .collect()
}

fn context() -> PaymentContext {
    let tokens = vec![
        PaymentToken {
            token: "pm_card_visa".into(),
            scope: TokenScope::Provider {
                provider: Provider::Stripe,
            },
        },
        PaymentToken {
            token: "cnon:card-nonce-ok".into(),
            scope: TokenScope::Provider {
                provider: Provider::Square,
            },
        },
        PaymentToken {
            token: "tkn_portable".into(),
            scope: TokenScope::Portable,
        },
    ];
    let metadata = BTreeMap::from([
        ("channel".to_owned(), "web".to_owned()),
        ("tier".to_owned(), "gold".to_owned()),
    ]);
    PaymentContext::new(
        2500,
        "EUR",
        "DE",
        PaymentMethodType::Card,
        Some("visa".into()),
        CaptureMode::Automatic,
        tokens,
        metadata,
    )
    .unwrap_or_else(|e| unreachable!("{e}"))
}

/// 99 rules that do not match the context (most fail on their last condition, so every condition
/// is evaluated), then one that does.
fn hundred_rules() -> Policy {
    let s = |x: &str| x.to_owned();
    let mut rules: Vec<Rule> = (0..99)
        .map(|i| {
            let conditions = match i % 6 {
                0 => vec![Condition::Currency {
                    test: Test::Eq(cur("GBP")),
                }],
                1 => vec![
                    Condition::Currency {
                        test: Test::In(vec![cur("EUR"), cur("USD")]),
                    },
                    Condition::Amount {
                        test: Test::Between(10_000 + i * 100, 50_000),
                    },
                ],
                2 => vec![
                    Condition::PaymentMethod {
                        test: Test::Eq(PaymentMethodType::Card),
                    },
                    Condition::Country {
                        test: Test::In(vec![cty("US"), cty("CA"), cty("MX")]),
                    },
                ],
                3 => vec![
                    Condition::Amount {
                        test: Test::Gte(1000),
                    },
                    Condition::CardBrand {
                        test: Test::In(vec![s("amex"), s("discover")]),
                    },
                ],
                4 => vec![
                    Condition::CaptureMode {
                        test: Test::Eq(CaptureMode::Automatic),
                    },
                    Condition::Metadata {
                        key: s("tier"),
                        test: Test::Eq(s("gold")),
                    },
                    Condition::Metadata {
                        key: s("channel"),
                        test: Test::In(vec![s("app"), s("pos")]),
                    },
                ],
                _ => vec![
                    Condition::Country {
                        test: Test::NotIn(vec![cty("US")]),
                    },
                    Condition::Amount {
                        test: Test::Lt(100 + i),
                    },
                ],
            };
            let n = i as usize;
            let action = if i % 2 == 0 {
                RuleAction::Path {
                    connectors: vec![id(n % 20), id((n + 3) % 20)],
                }
            } else {
                RuleAction::Split {
                    weights: vec![(id(n % 20), 70), (id((n + 5) % 20), 30)],
                }
            };
            Rule {
                name: format!("rule {i}"),
                conditions,
                action,
            }
        })
        .collect();
    rules.push(Rule {
        name: s("EUR cards to EU accounts"),
        conditions: vec![
            Condition::Currency {
                test: Test::Eq(cur("EUR")),
            },
            Condition::Amount {
                test: Test::Between(1000, 100_000),
            },
            Condition::Country {
                test: Test::In(vec![cty("DE"), cty("FR"), cty("NL")]),
            },
        ],
        action: RuleAction::Path {
            connectors: vec![id(1), id(2), id(3), id(5)],
        },
    });
    Policy {
        rules,
        ..Policy::default()
    }
}

fn bench_decide(c: &mut Criterion) {
    let ctx = context();
    let cs = connectors();
    let rules = hundred_rules();
    let d = decide(&ctx, &cs, &rules, Mode::Live, 0.42);
    assert!(
        matches!(d.trace.source, routing::RouteSource::Rule { index: 99, .. }),
        "{}",
        d.trace.explain()
    );
    assert!(!d.path.is_empty());
    c.bench_function("decide/100_rules_last_matches_20_connectors", |b| {
        b.iter(|| {
            decide(
                black_box(&ctx),
                black_box(&cs),
                black_box(&rules),
                Mode::Live,
                black_box(0.42),
            )
        })
    });

    let weighted = Policy::default();
    let d = decide(&ctx, &cs, &weighted, Mode::Live, 0.42);
    assert!(
        matches!(d.trace.source, routing::RouteSource::Weighted { .. }),
        "{}",
        d.trace.explain()
    );
    assert_eq!(d.path.len(), 3);
    c.bench_function("decide/default_weighted_20_connectors", |b| {
        b.iter(|| {
            decide(
                black_box(&ctx),
                black_box(&cs),
                black_box(&weighted),
                Mode::Live,
                black_box(0.42),
            )
        })
    });
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);
