//! Static validation of policies, as a table of (policy, expected issues).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use routing::{Condition, Currency, Policy, Test, validate_policy};

/// (name, policy, expected (rule, code) pairs in order)
type Row = (&'static str, Policy, Vec<(Option<u32>, &'static str)>);

#[test]
fn validation_as_a_table() {
    let known = [id(1), id(2)];
    let usd = Currency::parse("USD").unwrap();
    let rows: Vec<Row> = vec![
        ("default policy is valid", Policy::default(), vec![]),
        (
            "a valid policy",
            policy(vec![
                path_rule(
                    "EUR",
                    vec![
                        currency_is("EUR"),
                        Condition::Amount {
                            test: Test::Between(1, 1),
                        },
                    ],
                    &[1, 2],
                ),
                split_rule("rest", vec![], &[(1, 70), (2, 0)]),
            ]),
            vec![],
        ),
        (
            "bad max_attempts",
            Policy {
                max_attempts: 0,
                ..Policy::default()
            },
            vec![(None, "bad_max_attempts")],
        ),
        (
            "unknown connector",
            policy(vec![path_rule("r", vec![], &[1, 9, 9])]),
            vec![(Some(0), "unknown_connector")],
        ),
        (
            "unknown connector in split",
            policy(vec![split_rule("r", vec![], &[(9, 10)])]),
            vec![(Some(0), "unknown_connector")],
        ),
        (
            "empty path",
            policy(vec![path_rule("r", vec![], &[])]),
            vec![(Some(0), "empty_path")],
        ),
        (
            "empty split",
            policy(vec![split_rule("r", vec![], &[])]),
            vec![(Some(0), "empty_path")],
        ),
        (
            "zero split",
            policy(vec![split_rule("r", vec![], &[(1, 0), (2, 0)])]),
            vec![(Some(0), "zero_split")],
        ),
        (
            "unreachable rules after a condition-free rule",
            policy(vec![
                path_rule("EUR", vec![currency_is("EUR")], &[1]),
                path_rule("all", vec![], &[1]),
                path_rule("never", vec![currency_is("USD")], &[2]),
                path_rule("never either", vec![], &[2]),
            ]),
            vec![(Some(2), "unreachable_rule"), (Some(3), "unreachable_rule")],
        ),
        (
            "ordering operators only on amount",
            policy(vec![path_rule(
                "r",
                vec![
                    Condition::Currency {
                        test: Test::Lt(usd),
                    },
                    Condition::CardBrand {
                        test: Test::Between("a".into(), "b".into()),
                    },
                    Condition::Metadata {
                        key: "k".into(),
                        test: Test::Gte("x".into()),
                    },
                    Condition::Amount { test: Test::Lte(5) },
                ],
                &[1],
            )]),
            vec![
                (Some(0), "operator_not_valid_for_field"),
                (Some(0), "operator_not_valid_for_field"),
                (Some(0), "operator_not_valid_for_field"),
            ],
        ),
        (
            "empty sets",
            policy(vec![path_rule(
                "r",
                vec![
                    Condition::Currency {
                        test: Test::In(vec![]),
                    },
                    Condition::Amount {
                        test: Test::NotIn(vec![]),
                    },
                    Condition::Metadata {
                        key: "k".into(),
                        test: Test::In(vec![]),
                    },
                ],
                &[1],
            )]),
            vec![
                (Some(0), "empty_set"),
                (Some(0), "empty_set"),
                (Some(0), "empty_set"),
            ],
        ),
        (
            "bad range",
            policy(vec![
                path_rule(
                    "ok",
                    vec![Condition::Amount {
                        test: Test::Between(10, 10),
                    }],
                    &[1],
                ),
                path_rule(
                    "bad",
                    vec![Condition::Amount {
                        test: Test::Between(11, 10),
                    }],
                    &[1],
                ),
            ]),
            vec![(Some(1), "bad_range")],
        ),
        (
            "several issues, rule indices 0-based",
            Policy {
                max_attempts: 0,
                ..policy(vec![
                    path_rule("a", vec![], &[]),
                    split_rule("b", vec![], &[(7, 0)]),
                ])
            },
            vec![
                (None, "bad_max_attempts"),
                (Some(0), "empty_path"),
                (Some(1), "unreachable_rule"),
                (Some(1), "zero_split"),
                (Some(1), "unknown_connector"),
            ],
        ),
    ];
    for (name, p, want) in rows {
        let issues = validate_policy(&p, &known);
        let got: Vec<(Option<u32>, &str)> =
            issues.iter().map(|i| (i.rule, i.code.as_str())).collect();
        assert_eq!(got, want, "{name}: {issues:#?}");
        assert!(issues.iter().all(|i| !i.message.is_empty()), "{name}");
    }
}

#[test]
fn messages_name_the_rule_and_the_problem() {
    let p = policy(vec![
        path_rule("all", vec![], &[1]),
        path_rule("EUR", vec![currency_is("EUR")], &[3]),
    ]);
    let issues = validate_policy(&p, &[id(1)]);
    let messages: Vec<&str> = issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "rule 2 \"EUR\" can never match: rule 1 \"all\" has no conditions and matches every payment",
            "rule 2 \"EUR\": connector 00000000-0000-0000-0000-000000000003 is not a connector of this merchant",
        ]
    );
}
