//! JSON shapes of the policy AST (DESIGN.md §3: policies are stored as JSON).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use routing::{
    Condition, ConnectorId, Currency, FallbackAction, FallbackMatrix, Policy, Rule, RuleAction,
    Test,
};
use serde_json::{Value, json};

fn id(n: u128) -> ConnectorId {
    ConnectorId(uuid::Uuid::from_u128(n))
}

/// Parses `json`, checks it equals `expected`, and that serialising gives the same JSON back.
fn round_trip<T>(json: Value, expected: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let parsed: T = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(&parsed, expected, "{json}");
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, json, "serialised form differs");
    // And from a string, not only from a Value (different deserializer paths).
    let from_str: T = serde_json::from_str(&json.to_string()).unwrap();
    assert_eq!(&from_str, expected);
}

#[test]
fn conditions_round_trip_as_a_table() {
    let eur = Currency::parse("EUR").unwrap();
    let rows: Vec<(Value, Condition)> = vec![
        (
            json!({"field":"currency","op":"eq","value":"EUR"}),
            Condition::Currency {
                test: Test::Eq(eur),
            },
        ),
        (
            json!({"field":"currency","op":"in","value":["EUR","USD"]}),
            Condition::Currency {
                test: Test::In(vec![eur, Currency::parse("USD").unwrap()]),
            },
        ),
        (
            json!({"field":"amount","op":"between","value":[1000,5000]}),
            Condition::Amount {
                test: Test::Between(1000, 5000),
            },
        ),
        (
            json!({"field":"amount","op":"lt","value":100}),
            Condition::Amount {
                test: Test::Lt(100),
            },
        ),
        (
            json!({"field":"amount","op":"gte","value":-1}),
            Condition::Amount {
                test: Test::Gte(-1),
            },
        ),
        (
            json!({"field":"country","op":"not_in","value":["DE","FR"]}),
            Condition::Country {
                test: Test::NotIn(vec![
                    routing::Country::parse("DE").unwrap(),
                    routing::Country::parse("FR").unwrap(),
                ]),
            },
        ),
        (
            json!({"field":"payment_method","op":"eq","value":"card"}),
            Condition::PaymentMethod {
                test: Test::Eq(routing::PaymentMethodType::Card),
            },
        ),
        (
            json!({"field":"card_brand","op":"ne","value":"amex"}),
            Condition::CardBrand {
                test: Test::Ne("amex".into()),
            },
        ),
        (
            json!({"field":"capture_mode","op":"eq","value":"manual"}),
            Condition::CaptureMode {
                test: Test::Eq(routing::CaptureMode::Manual),
            },
        ),
        (
            json!({"field":"metadata","key":"channel","op":"in","value":["app"]}),
            Condition::Metadata {
                key: "channel".into(),
                test: Test::In(vec!["app".into()]),
            },
        ),
    ];
    for (json, expected) in rows {
        round_trip(json, &expected);
    }
}

#[test]
fn condition_input_is_normalised_and_bad_input_rejected() {
    // Lower-case currency is accepted and normalised.
    let c: Condition =
        serde_json::from_value(json!({"field":"currency","op":"eq","value":"eur"})).unwrap();
    assert_eq!(
        c,
        Condition::Currency {
            test: Test::Eq(Currency::parse("EUR").unwrap())
        }
    );
    for bad in [
        json!({"field":"currency","op":"eq","value":"EURO"}),
        json!({"field":"currency","op":"like","value":"EUR"}),
        json!({"field":"colour","op":"eq","value":"red"}),
        json!({"field":"amount","op":"between","value":[1]}),
        json!({"field":"amount","op":"eq","value":"ten"}),
        json!({"field":"metadata","op":"eq","value":"x"}),
        json!({"field":"currency","value":"EUR"}),
    ] {
        assert!(
            serde_json::from_value::<Condition>(bad.clone()).is_err(),
            "accepted {bad}"
        );
    }
}

#[test]
fn rule_actions_round_trip() {
    let a = "00000000-0000-0000-0000-000000000001";
    let b = "00000000-0000-0000-0000-000000000002";
    round_trip(
        json!({"type":"path","connectors":[a, b]}),
        &RuleAction::Path {
            connectors: vec![id(1), id(2)],
        },
    );
    round_trip(
        json!({"type":"split","weights":[[a,70],[b,30]]}),
        &RuleAction::Split {
            weights: vec![(id(1), 70), (id(2), 30)],
        },
    );
}

#[test]
fn policy_round_trips_and_defaults_apply() {
    let a = "00000000-0000-0000-0000-000000000001";
    let json = json!({
        "rules": [
            {
                "name": "EUR to EU",
                "conditions": [
                    {"field":"currency","op":"eq","value":"EUR"},
                    {"field":"amount","op":"between","value":[1000,5000]},
                    {"field":"metadata","key":"channel","op":"in","value":["app"]}
                ],
                "action": {"type":"path","connectors":[a]}
            },
            {"name": "everything else", "conditions": [], "action": {"type":"split","weights":[[a,1]]}}
        ],
        "fallback": {
            "soft_decline": {"action":"retry","max":1},
            "auth_config_error": {"action":"fall_back"},
            "rate_limited": {"action":"stop"},
            "provider_unavailable": {"action":"fall_back"}
        },
        "max_attempts": 2
    });
    let expected = Policy {
        rules: vec![
            Rule {
                name: "EUR to EU".into(),
                conditions: vec![
                    Condition::Currency {
                        test: Test::Eq(Currency::parse("EUR").unwrap()),
                    },
                    Condition::Amount {
                        test: Test::Between(1000, 5000),
                    },
                    Condition::Metadata {
                        key: "channel".into(),
                        test: Test::In(vec!["app".into()]),
                    },
                ],
                action: RuleAction::Path {
                    connectors: vec![id(1)],
                },
            },
            Rule {
                name: "everything else".into(),
                conditions: vec![],
                action: RuleAction::Split {
                    weights: vec![(id(1), 1)],
                },
            },
        ],
        fallback: FallbackMatrix {
            soft_decline: FallbackAction::Retry { max: 1 },
            auth_config_error: FallbackAction::FallBack,
            rate_limited: FallbackAction::Stop,
            provider_unavailable: FallbackAction::FallBack,
        },
        max_attempts: 2,
    };
    round_trip(json, &expected);

    // Every part is optional except the rule names and actions.
    let empty: Policy = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty, Policy::default());
    assert_eq!(empty.max_attempts, 3);
    let partial: Policy =
        serde_json::from_value(json!({"fallback": {"soft_decline": {"action":"fall_back"}}}))
            .unwrap();
    assert_eq!(partial.fallback.soft_decline, FallbackAction::FallBack);
    assert_eq!(
        partial.fallback.rate_limited,
        FallbackMatrix::default().rate_limited
    );
    let no_conditions: Rule =
        serde_json::from_value(json!({"name":"all","action":{"type":"path","connectors":[a]}}))
            .unwrap();
    assert!(no_conditions.conditions.is_empty());
}
