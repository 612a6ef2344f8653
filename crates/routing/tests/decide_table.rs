//! Data-table tests of `decide` (DESIGN.md §4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use routing::{
    CaptureMode, CircuitState, Condition, Connector, ConnectorStatus, Mode, PaymentContext,
    PaymentMethodType, Policy, Provider, RouteSource, SelectReason, SkipReason, Test, Verdict,
    decide, decide_explained, usable_token,
};

/// How the route's source is expected to look.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Src {
    Rule(u32),
    Weighted,
    Primary,
    None,
}

struct Row {
    name: &'static str,
    ctx: PaymentContext,
    connectors: Vec<Connector>,
    policy: Policy,
    roll: f64,
    path: Vec<u128>,
    source: Src,
    skips: Vec<(u128, SkipReason)>,
}

fn row(name: &'static str, connectors: Vec<Connector>, policy: Policy, roll: f64) -> Row {
    Row {
        name,
        ctx: ctx(2500, "USD", "US"),
        connectors,
        policy,
        roll,
        path: vec![],
        source: Src::None,
        skips: vec![],
    }
}
impl Row {
    fn ctx(mut self, c: PaymentContext) -> Row {
        self.ctx = c;
        self
    }
    fn expect(mut self, source: Src, path: &[u128]) -> Row {
        self.source = source;
        self.path = path.to_vec();
        self
    }
    fn skip(mut self, n: u128, r: SkipReason) -> Row {
        self.skips.push((n, r));
        self
    }
}

fn run(rows: Vec<Row>) {
    for r in rows {
        let d = decide_explained(&r.ctx, &r.connectors, &r.policy, Mode::Live, r.roll);
        let bare = decide(&r.ctx, &r.connectors, &r.policy, Mode::Live, r.roll);
        assert_same_but_texts(&bare, &d, r.name);
        let want: Vec<_> = r.path.iter().map(|&n| id(n)).collect();
        assert_eq!(d.path, want, "{}: path\n{}", r.name, d.trace.explain());
        let src = match d.trace.source {
            RouteSource::Rule { index, .. } => Src::Rule(index),
            RouteSource::Weighted { .. } => Src::Weighted,
            RouteSource::Primary => Src::Primary,
            RouteSource::NoEligibleConnector => Src::None,
        };
        assert_eq!(src, r.source, "{}: source", r.name);
        assert_eq!(
            d.trace.entries.len(),
            r.connectors.len(),
            "{}: one entry per connector",
            r.name
        );
        for (entry, c) in d.trace.entries.iter().zip(&r.connectors) {
            assert_eq!(
                entry.connector_id, c.id,
                "{}: entries in input order",
                r.name
            );
            assert!(!entry.explanation.is_empty());
        }
        for (n, reason) in &r.skips {
            let entry = d
                .trace
                .entries
                .iter()
                .find(|e| e.connector_id == id(*n))
                .unwrap();
            assert_eq!(
                entry.verdict,
                Verdict::Skipped {
                    reason: reason.clone()
                },
                "{}: connector {n}: {}",
                r.name,
                entry.explanation
            );
        }
        // Selected entries agree with the path.
        for (pos, cid) in d.path.iter().enumerate() {
            let entry = d
                .trace
                .entries
                .iter()
                .find(|e| e.connector_id == *cid)
                .unwrap();
            assert!(
                matches!(entry.verdict, Verdict::Selected { position, .. } if position as usize == pos),
                "{}: {}",
                r.name,
                entry.explanation
            );
        }
    }
}

/// `decide` and `decide_explained` agree on everything but the texts, which only the latter has.
fn assert_same_but_texts(
    bare: &routing::RouteDecision,
    explained: &routing::RouteDecision,
    name: &str,
) {
    assert_eq!(bare.path, explained.path, "{name}: path");
    assert_eq!(bare.trace.source, explained.trace.source, "{name}: source");
    assert_eq!(bare.trace.entries.len(), explained.trace.entries.len());
    for (b, e) in bare.trace.entries.iter().zip(&explained.trace.entries) {
        assert_eq!(b.connector_id, e.connector_id, "{name}");
        assert_eq!(b.connector_name, e.connector_name, "{name}");
        assert_eq!(b.verdict, e.verdict, "{name}");
        assert!(
            b.explanation.is_empty(),
            "{name}: decide leaves texts empty"
        );
        assert!(
            e.explanation.starts_with(&e.connector_name),
            "{name}: {}",
            e.explanation
        );
    }
    // `explain` renders missing texts the same way.
    assert_eq!(
        bare.trace.explain(),
        explained.trace.explain(),
        "{name}: explain"
    );
    let mut filled = bare.clone();
    filled.trace.fill_explanations();
    assert_eq!(&filled, explained, "{name}: fill_explanations");
}

fn us_eu() -> Vec<Connector> {
    vec![
        conn(1, "Stripe US Primary", 100).primary(),
        conn(2, "Stripe EU Backup", 0),
        conn(3, "Adyen", 50),
    ]
}

#[test]
fn rules_as_a_table() {
    let eur_rule = || policy(vec![path_rule("EUR to EU", vec![currency_is("EUR")], &[2])]);
    let rows = vec![
        row(
            "EUR rule routes to EU connector ignoring weights",
            us_eu(),
            eur_rule(),
            0.1,
        )
        .ctx(ctx(2500, "EUR", "DE"))
        .expect(Src::Rule(0), &[2])
        .skip(1, SkipReason::NotInMatchedRule)
        .skip(3, SkipReason::NotInMatchedRule),
        row(
            "USD does not match the EUR rule: weights, then primary",
            us_eu(),
            eur_rule(),
            0.1,
        )
        .expect(Src::Weighted, &[1, 3])
        .skip(2, SkipReason::WeightZero),
        row(
            "rule with all steps ineligible: empty path, no fallthrough",
            {
                let mut c = us_eu();
                c[1].status = ConnectorStatus::Disabled;
                c
            },
            eur_rule(),
            0.1,
        )
        .ctx(ctx(2500, "EUR", "DE"))
        .expect(Src::Rule(0), &[])
        .skip(1, SkipReason::NotInMatchedRule)
        .skip(2, SkipReason::Disabled)
        .skip(3, SkipReason::NotInMatchedRule),
        row(
            "stronger reason wins over not-in-rule",
            {
                let mut c = us_eu();
                c[2].circuit = CircuitState::Open;
                c
            },
            eur_rule(),
            0.1,
        )
        .ctx(ctx(2500, "EUR", "DE"))
        .expect(Src::Rule(0), &[2])
        .skip(3, SkipReason::CircuitOpen),
        row(
            "rule path order kept, ineligible step skipped",
            us_eu()
                .into_iter()
                .map(|c| {
                    if c.id == id(3) {
                        c.currencies(&["EUR"])
                    } else {
                        c
                    }
                })
                .collect(),
            policy(vec![path_rule("all", vec![], &[3, 2, 1])]),
            0.5,
        )
        .expect(Src::Rule(0), &[2, 1])
        .skip(
            3,
            SkipReason::CurrencyUnsupported {
                currency: routing::Currency::parse("USD").unwrap(),
            },
        ),
        row(
            "first matching rule wins",
            us_eu(),
            policy(vec![
                path_rule("EUR", vec![currency_is("EUR")], &[2]),
                path_rule(
                    "big",
                    vec![Condition::Amount {
                        test: Test::Gte(1000),
                    }],
                    &[3],
                ),
                path_rule("all", vec![], &[1]),
            ]),
            0.5,
        )
        .expect(Src::Rule(1), &[3]),
        row(
            "unknown and repeated ids in a rule are ignored",
            us_eu(),
            policy(vec![path_rule("dup", vec![], &[99, 3, 3, 2, 3])]),
            0.5,
        )
        .expect(Src::Rule(0), &[3, 2]),
        row(
            "split rule: rule weights, not connector weights (roll 0.8 -> 30 share)",
            us_eu(),
            policy(vec![split_rule("split", vec![], &[(1, 70), (2, 30)])]),
            0.8,
        )
        .expect(Src::Rule(0), &[2, 1])
        .skip(3, SkipReason::NotInMatchedRule),
        row(
            "split rule: roll 0.2 -> 70 share, weight-0 listed one last",
            us_eu(),
            policy(vec![split_rule(
                "split",
                vec![],
                &[(3, 0), (1, 70), (2, 30)],
            )]),
            0.2,
        )
        .expect(Src::Rule(0), &[1, 2, 3]),
        row(
            "split rule with every weighted entry ineligible keeps the weight-0 one",
            {
                let mut c = us_eu();
                c[0].status = ConnectorStatus::Disabled;
                c
            },
            policy(vec![split_rule("split", vec![], &[(1, 70), (3, 0)])]),
            0.2,
        )
        .expect(Src::Rule(0), &[3])
        .skip(1, SkipReason::Disabled),
        row(
            "path cap 3 on a rule path of 5",
            (1..=5).map(|n| conn(n, "c", 0)).collect(),
            Policy {
                max_attempts: 3,
                ..policy(vec![path_rule("five", vec![], &[5, 4, 3, 2, 1])])
            },
            0.5,
        )
        .expect(Src::Rule(0), &[5, 4, 3])
        .skip(2, SkipReason::PathCapReached)
        .skip(1, SkipReason::PathCapReached),
    ];
    run(rows);
}

fn seventy_thirty() -> Vec<Connector> {
    vec![
        conn(1, "Primary", 0).primary(),
        conn(2, "Thirty", 30),
        conn(3, "Seventy", 70),
    ]
}

#[test]
fn weighted_routes_as_a_table() {
    let mut rows = vec![];
    for (roll, path) in [
        (0.0, [3, 2, 1]),
        (0.69, [3, 2, 1]),
        (0.70, [2, 3, 1]),
        (0.99, [2, 3, 1]),
    ] {
        rows.push(
            row("70/30 intervals", seventy_thirty(), Policy::default(), roll)
                .expect(Src::Weighted, &path),
        );
    }
    rows.extend([
        row(
            "weight 0 never picked by weights; primary still ends the route",
            vec![
                conn(1, "P", 0).primary(),
                conn(2, "Zero", 0),
                conn(3, "Full", 100),
            ],
            Policy::default(),
            0.999,
        )
        .expect(Src::Weighted, &[3, 1])
        .skip(2, SkipReason::WeightZero),
        row(
            "no eligible weighted connector: primary alone",
            vec![
                conn(1, "P", 0).primary(),
                conn(2, "Zero", 0),
                conn(3, "Off", 100).status(ConnectorStatus::Disabled),
            ],
            Policy::default(),
            0.3,
        )
        .expect(Src::Primary, &[1])
        .skip(2, SkipReason::WeightZero)
        .skip(3, SkipReason::Disabled),
        row(
            "nothing eligible",
            vec![
                conn(1, "P", 0).primary().circuit(CircuitState::Open),
                conn(2, "Zero", 0),
                conn(3, "Off", 100).status(ConnectorStatus::Disabled),
            ],
            Policy::default(),
            0.3,
        )
        .expect(Src::None, &[])
        .skip(1, SkipReason::CircuitOpen)
        .skip(2, SkipReason::WeightZero),
        row(
            "disabled, other mode, open circuit, exhausted probe never in path; half-open probe is",
            vec![
                conn(1, "P", 0).primary(),
                conn(2, "Disabled", 90).status(ConnectorStatus::Disabled),
                conn(3, "Test mode", 90).mode(Mode::Test),
                conn(4, "Open", 90).circuit(CircuitState::Open),
                conn(5, "No probes", 90).circuit(CircuitState::HalfOpen { probe_budget: 0 }),
                conn(6, "Probe", 10).circuit(CircuitState::HalfOpen { probe_budget: 1 }),
            ],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[6, 1])
        .skip(2, SkipReason::Disabled)
        .skip(
            3,
            SkipReason::OtherMode {
                connector_mode: Mode::Test,
            },
        )
        .skip(4, SkipReason::CircuitOpen)
        .skip(5, SkipReason::ProbeBudgetExhausted),
        row(
            "a primary in the other mode is not the primary",
            vec![
                conn(1, "P test", 0).primary().mode(Mode::Test),
                conn(2, "A", 10),
            ],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[2])
        .skip(
            1,
            SkipReason::OtherMode {
                connector_mode: Mode::Test,
            },
        ),
        row(
            "weighted primary takes its share of first picks (roll in its interval)",
            vec![
                conn(1, "A", 20),
                conn(2, "B", 10),
                conn(3, "P", 50).primary(),
            ],
            Policy::default(),
            0.1,
        )
        .expect(Src::Weighted, &[3, 1, 2]),
        row(
            "weighted primary not picked still ends the route",
            vec![
                conn(1, "A", 20),
                conn(2, "B", 10),
                conn(3, "P", 50).primary(),
            ],
            Policy::default(),
            0.9,
        )
        .expect(Src::Weighted, &[2, 1, 3]),
        row(
            "equal weights: creation order breaks ties",
            vec![conn(1, "late", 50).seq(20), conn(2, "early", 50).seq(10)],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[2, 1]),
        row(
            "path cap 3 with 5 eligible",
            vec![
                conn(1, "P", 0).primary(),
                conn(2, "w40", 40),
                conn(3, "w30", 30),
                conn(4, "w20", 20),
                conn(5, "w10", 10),
            ],
            Policy {
                max_attempts: 3,
                ..Policy::default()
            },
            0.0,
        )
        .expect(Src::Weighted, &[2, 3, 4])
        .skip(5, SkipReason::PathCapReached)
        .skip(1, SkipReason::PathCapReached),
        row(
            "max_attempts 0 is treated as 1",
            seventy_thirty(),
            Policy {
                max_attempts: 0,
                ..Policy::default()
            },
            0.0,
        )
        .expect(Src::Weighted, &[3])
        .skip(2, SkipReason::PathCapReached),
        row(
            "NaN roll is clamped to 0",
            seventy_thirty(),
            Policy::default(),
            f64::NAN,
        )
        .expect(Src::Weighted, &[3, 2, 1]),
        row(
            "roll 1.0 is clamped below 1",
            seventy_thirty(),
            Policy::default(),
            1.0,
        )
        .expect(Src::Weighted, &[2, 3, 1]),
        row(
            "+inf roll",
            seventy_thirty(),
            Policy::default(),
            f64::INFINITY,
        )
        .expect(Src::Weighted, &[2, 3, 1]),
        row("negative roll", seventy_thirty(), Policy::default(), -3.0)
            .expect(Src::Weighted, &[3, 2, 1]),
        row(
            "a repeated connector id is routed once",
            vec![conn(1, "A", 10), conn(2, "B", 5), conn(1, "A again", 10)],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[1, 2]),
    ]);
    run(rows);
}

#[test]
fn capabilities_as_a_table() {
    use routing::{Country, Currency};
    let usd = Currency::parse("USD").unwrap();
    let rows = vec![
        row(
            "currency",
            vec![
                conn(1, "EUR only", 10).currencies(&["EUR"]),
                conn(2, "any", 5),
            ],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[2])
        .skip(1, SkipReason::CurrencyUnsupported { currency: usd }),
        row(
            "country",
            vec![
                conn(1, "DE only", 10).countries(&["DE"]),
                conn(2, "US", 5).countries(&["US"]),
            ],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[2])
        .skip(
            1,
            SkipReason::CountryUnsupported {
                country: Country::parse("US").unwrap(),
            },
        ),
        row(
            "method",
            vec![
                conn(1, "wallets", 10).methods(&[PaymentMethodType::Wallet]),
                conn(2, "cards", 5),
            ],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[2])
        .skip(
            1,
            SkipReason::MethodUnsupported {
                method: PaymentMethodType::Card,
            },
        ),
        row(
            "capture",
            vec![
                conn(1, "auto", 10).captures(&[CaptureMode::Automatic]),
                conn(2, "both", 5),
            ],
            Policy::default(),
            0.0,
        )
        .ctx(ctx(100, "USD", "US").capture(CaptureMode::Manual))
        .expect(Src::Weighted, &[2])
        .skip(
            1,
            SkipReason::CaptureModeUnsupported {
                capture: CaptureMode::Manual,
            },
        ),
        row(
            "portable token not accepted",
            vec![
                conn(1, "no portable", 10).no_portable(),
                conn(2, "portable", 5),
            ],
            Policy::default(),
            0.0,
        )
        .expect(Src::Weighted, &[2])
        .skip(1, SkipReason::NoUsableToken),
        row(
            "provider-scoped Stripe token not usable on the Simulator connector",
            vec![
                conn(1, "Stripe A", 10).provider(Provider::Stripe),
                conn(2, "Sim", 10).provider(Provider::Simulator),
                conn(3, "Stripe B", 10).provider(Provider::Stripe),
            ],
            Policy::default(),
            0.0,
        )
        .ctx(ctx(100, "USD", "US").tokens(vec![provider_token(Provider::Stripe)]))
        .expect(Src::Weighted, &[1, 3])
        .skip(2, SkipReason::NoUsableToken),
        row(
            "connector-scoped token not usable on another account of the same provider",
            vec![
                conn(1, "Stripe A", 10).provider(Provider::Stripe),
                conn(2, "Stripe B", 20).provider(Provider::Stripe),
            ],
            Policy::default(),
            0.0,
        )
        .ctx(ctx(100, "USD", "US").tokens(vec![connector_token(1)]))
        .expect(Src::Weighted, &[1])
        .skip(2, SkipReason::NoUsableToken),
        row(
            "several tokens make a cross-provider fallback possible",
            vec![
                conn(1, "Stripe A", 10)
                    .provider(Provider::Stripe)
                    .no_portable(),
                conn(2, "Square", 20)
                    .provider(Provider::Square)
                    .no_portable(),
            ],
            Policy::default(),
            0.0,
        )
        .ctx(
            ctx(100, "USD", "US")
                .tokens(vec![connector_token(1), provider_token(Provider::Square)]),
        )
        .expect(Src::Weighted, &[2, 1]),
    ];
    run(rows);
}

#[test]
fn usable_token_prefers_the_narrowest_scope() {
    let c = conn(1, "Stripe A", 10).provider(Provider::Stripe);
    let all = vec![
        portable(),
        provider_token(Provider::Stripe),
        connector_token(1),
    ];
    let rows: Vec<(Vec<routing::PaymentToken>, bool, Option<&str>)> = vec![
        (all.clone(), true, Some("tok_conn_1")),
        (
            vec![portable(), provider_token(Provider::Stripe)],
            true,
            Some("tok_stripe"),
        ),
        (vec![portable()], true, Some("tok_portable")),
        (vec![portable()], false, None),
        (
            vec![provider_token(Provider::Square), connector_token(2)],
            true,
            None,
        ),
    ];
    for (tokens, accepts_portable, want) in rows {
        let mut c = c.clone();
        c.capabilities.accepts_portable_tokens = accepts_portable;
        let p = ctx(100, "USD", "US").tokens(tokens.clone());
        assert_eq!(usable_token(&p, &c), want, "{tokens:?}");
    }
}

/// Whether `cond` holds for `p`, observed through `decide` (rule -> connector 2, default -> 1).
fn holds(cond: Condition, p: &PaymentContext) -> bool {
    let connectors = vec![conn(1, "default", 10), conn(2, "rule", 0)];
    let d = decide(
        p,
        &connectors,
        &policy(vec![path_rule("r", vec![cond], &[2])]),
        Mode::Live,
        0.0,
    );
    matches!(d.trace.source, RouteSource::Rule { .. })
}

#[test]
fn conditions_as_a_table() {
    use routing::{Country, Currency};
    let eur = Currency::parse("EUR").unwrap();
    let usd = Currency::parse("USD").unwrap();
    let de = Country::parse("DE").unwrap();
    let p = ctx(2500, "EUR", "DE")
        .meta("channel", "app")
        .brand(Some("visa"));
    let no_brand = ctx(2500, "EUR", "DE").brand(None);
    let s = |x: &str| x.to_owned();
    let rows: Vec<(&str, Condition, &PaymentContext, bool)> = vec![
        (
            "currency eq",
            Condition::Currency {
                test: Test::Eq(eur),
            },
            &p,
            true,
        ),
        (
            "currency ne",
            Condition::Currency {
                test: Test::Ne(eur),
            },
            &p,
            false,
        ),
        (
            "currency in",
            Condition::Currency {
                test: Test::In(vec![usd, eur]),
            },
            &p,
            true,
        ),
        (
            "currency not_in",
            Condition::Currency {
                test: Test::NotIn(vec![usd]),
            },
            &p,
            true,
        ),
        (
            "currency ordering op is false",
            Condition::Currency {
                test: Test::Gte(usd),
            },
            &p,
            false,
        ),
        (
            "amount eq",
            Condition::Amount {
                test: Test::Eq(2500),
            },
            &p,
            true,
        ),
        (
            "amount lt",
            Condition::Amount {
                test: Test::Lt(2500),
            },
            &p,
            false,
        ),
        (
            "amount lte",
            Condition::Amount {
                test: Test::Lte(2500),
            },
            &p,
            true,
        ),
        (
            "amount gt",
            Condition::Amount {
                test: Test::Gt(2499),
            },
            &p,
            true,
        ),
        (
            "amount gte",
            Condition::Amount {
                test: Test::Gte(2501),
            },
            &p,
            false,
        ),
        (
            "amount between inclusive low",
            Condition::Amount {
                test: Test::Between(2500, 5000),
            },
            &p,
            true,
        ),
        (
            "amount between inclusive high",
            Condition::Amount {
                test: Test::Between(1000, 2500),
            },
            &p,
            true,
        ),
        (
            "amount outside",
            Condition::Amount {
                test: Test::Between(1000, 2499),
            },
            &p,
            false,
        ),
        (
            "amount between low>high",
            Condition::Amount {
                test: Test::Between(5000, 1000),
            },
            &p,
            false,
        ),
        (
            "amount in",
            Condition::Amount {
                test: Test::In(vec![1, 2500]),
            },
            &p,
            true,
        ),
        (
            "country eq",
            Condition::Country { test: Test::Eq(de) },
            &p,
            true,
        ),
        (
            "country between is false",
            Condition::Country {
                test: Test::Between(de, de),
            },
            &p,
            false,
        ),
        (
            "method eq",
            Condition::PaymentMethod {
                test: Test::Eq(PaymentMethodType::Card),
            },
            &p,
            true,
        ),
        (
            "method ne",
            Condition::PaymentMethod {
                test: Test::Ne(PaymentMethodType::Card),
            },
            &p,
            false,
        ),
        (
            "capture eq",
            Condition::CaptureMode {
                test: Test::Eq(CaptureMode::Automatic),
            },
            &p,
            true,
        ),
        (
            "brand eq (case-insensitive)",
            Condition::CardBrand {
                test: Test::Eq(s("VISA")),
            },
            &p,
            true,
        ),
        (
            "brand in",
            Condition::CardBrand {
                test: Test::In(vec![s("amex"), s("visa")]),
            },
            &p,
            true,
        ),
        (
            "missing brand: eq false",
            Condition::CardBrand {
                test: Test::Eq(s("visa")),
            },
            &no_brand,
            false,
        ),
        (
            "missing brand: in false",
            Condition::CardBrand {
                test: Test::In(vec![s("visa")]),
            },
            &no_brand,
            false,
        ),
        (
            "missing brand: ne true",
            Condition::CardBrand {
                test: Test::Ne(s("visa")),
            },
            &no_brand,
            true,
        ),
        (
            "missing brand: not_in true",
            Condition::CardBrand {
                test: Test::NotIn(vec![s("visa")]),
            },
            &no_brand,
            true,
        ),
        (
            "missing brand: lt false",
            Condition::CardBrand {
                test: Test::Lt(s("z")),
            },
            &no_brand,
            false,
        ),
        (
            "metadata eq",
            Condition::Metadata {
                key: s("channel"),
                test: Test::Eq(s("app")),
            },
            &p,
            true,
        ),
        (
            "metadata case-sensitive",
            Condition::Metadata {
                key: s("channel"),
                test: Test::Eq(s("APP")),
            },
            &p,
            false,
        ),
        (
            "metadata not_in",
            Condition::Metadata {
                key: s("channel"),
                test: Test::NotIn(vec![s("web")]),
            },
            &p,
            true,
        ),
        (
            "missing key: eq false",
            Condition::Metadata {
                key: s("x"),
                test: Test::Eq(s("app")),
            },
            &p,
            false,
        ),
        (
            "missing key: ne true",
            Condition::Metadata {
                key: s("x"),
                test: Test::Ne(s("app")),
            },
            &p,
            true,
        ),
        (
            "missing key: not_in true",
            Condition::Metadata {
                key: s("x"),
                test: Test::NotIn(vec![]),
            },
            &p,
            true,
        ),
    ];
    for (name, cond, p, want) in rows {
        assert_eq!(holds(cond, p), want, "{name}");
    }
    // Conditions are ANDed.
    let both = vec![
        currency_is("EUR"),
        Condition::Amount {
            test: Test::Gt(10_000),
        },
    ];
    let d = decide(
        &p,
        &[conn(1, "d", 1), conn(2, "r", 1)],
        &policy(vec![path_rule("r", both, &[2])]),
        Mode::Live,
        0.0,
    );
    assert!(matches!(d.trace.source, RouteSource::Weighted { .. }));
}

#[test]
fn select_reasons_and_explanations() {
    let d = decide_explained(
        &ctx(100, "USD", "US"),
        &seventy_thirty(),
        &Policy::default(),
        Mode::Live,
        0.42,
    );
    let reasons: Vec<_> = d.trace.entries.iter().map(|e| e.verdict.clone()).collect();
    assert_eq!(
        reasons,
        vec![
            Verdict::Selected {
                position: 2,
                reason: SelectReason::PrimaryLastResort
            },
            Verdict::Selected {
                position: 1,
                reason: SelectReason::WeightedOrder { weight: 30 }
            },
            Verdict::Selected {
                position: 0,
                reason: SelectReason::WeightedPick {
                    lower: 0.0,
                    upper: 0.7,
                    roll: 0.42
                }
            },
        ]
    );
    let texts: Vec<&str> = d
        .trace
        .entries
        .iter()
        .map(|e| e.explanation.as_str())
        .collect();
    assert_eq!(
        texts,
        vec![
            "Primary: selected #3 — primary, last resort of the default route",
            "Thirty: selected #2 — next eligible weighted connector (weight 30)",
            "Seventy: selected #1 — weighted pick: roll 0.42 in [0.00, 0.70)",
        ]
    );
    assert_eq!(
        d.trace.explain(),
        "Route: no rule matched; weighted pick with roll 0.42\n  \
         Primary: selected #3 — primary, last resort of the default route\n  \
         Thirty: selected #2 — next eligible weighted connector (weight 30)\n  \
         Seventy: selected #1 — weighted pick: roll 0.42 in [0.00, 0.70)"
    );

    let connectors = vec![
        conn(1, "Stripe US Primary", 100)
            .primary()
            .no_portable()
            .provider(Provider::Stripe),
        conn(2, "Stripe EU Backup", 0),
        conn(3, "Square Fallback", 0).circuit(CircuitState::Open),
        conn(4, "Mollie", 5).mode(Mode::Test),
    ];
    let eur = policy(vec![
        path_rule(
            "big",
            vec![Condition::Amount {
                test: Test::Gt(1_000_000),
            }],
            &[1],
        ),
        path_rule("EUR to EU", vec![currency_is("EUR")], &[1, 2]),
    ]);
    let d = decide_explained(&ctx(2500, "EUR", "DE"), &connectors, &eur, Mode::Live, 0.5);
    let texts: Vec<&str> = d
        .trace
        .entries
        .iter()
        .map(|e| e.explanation.as_str())
        .collect();
    assert_eq!(
        texts,
        vec![
            "Stripe US Primary: skipped — no token usable on Stripe US Primary",
            "Stripe EU Backup: selected #1 — rule 2 \"EUR to EU\" matched, step 2 of its path",
            "Square Fallback: skipped — circuit open",
            "Mollie: skipped — connector is in test mode, the payment is live",
        ]
    );
    assert!(
        d.trace
            .explain()
            .starts_with("Route: rule 2 \"EUR to EU\" matched (weights ignored)\n")
    );

    let d = decide_explained(&ctx(2500, "USD", "US"), &connectors, &eur, Mode::Live, 0.5);
    assert_eq!(
        d.trace.entries[1].explanation,
        "Stripe EU Backup: skipped — weight 0 (receives no weighted traffic)"
    );
    assert!(d.path.is_empty());
    assert_eq!(
        d.trace.explain().lines().next().unwrap(),
        "Route: no rule matched and no connector is eligible: no_eligible_connector"
    );

    // A rule whose steps are all ineligible says so.
    let only_us = policy(vec![path_rule("US only", vec![], &[1])]);
    let d = decide_explained(
        &ctx(2500, "USD", "US"),
        &connectors,
        &only_us,
        Mode::Live,
        0.5,
    );
    assert_eq!(
        d.trace.explain().lines().next().unwrap(),
        "Route: rule 1 \"US only\" matched (weights ignored); none of its steps is eligible: no_eligible_connector"
    );
    assert_eq!(
        d.trace.entries[1].explanation,
        "Stripe EU Backup: skipped — not in matched rule 1 \"US only\""
    );

    // Split rule and path cap texts.
    let split = Policy {
        max_attempts: 1,
        ..policy(vec![split_rule("EU split", vec![], &[(2, 70), (4, 30)])])
    };
    let cs = vec![conn(2, "EU", 0), conn(4, "NL", 0)];
    let d = decide_explained(&ctx(2500, "EUR", "NL"), &cs, &split, Mode::Live, 0.6999);
    assert_eq!(
        d.trace.entries[0].explanation,
        "EU: selected #1 — rule 1 \"EU split\" matched; weighted pick: roll 0.6999 in [0.00, 0.70)"
    );
    assert_eq!(
        d.trace.entries[1].explanation,
        "NL: skipped — path cap of 1 provider call reached"
    );
}

#[test]
fn decisions_serialise_for_storage() {
    let d = decide(
        &ctx(100, "USD", "US"),
        &seventy_thirty(),
        &Policy::default(),
        Mode::Live,
        0.42,
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(
        json["trace"]["source"],
        serde_json::json!({"type":"weighted","roll":0.42})
    );
    assert_eq!(
        json["trace"]["entries"][1]["verdict"]["verdict"],
        "selected"
    );
    let back: routing::RouteDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
}
