//! Routing policy: rules in priority order (AND of conditions -> action), the fallback matrix and
//! the path cap. Stored as JSON (this typed serde AST) and statically validated.
//!
//! Condition JSON: `{"field":"currency","op":"eq","value":"EUR"}`,
//! `{"field":"amount","op":"between","value":[1000,50000]}`,
//! `{"field":"metadata","key":"channel","op":"in","value":["app","web"]}`.
//! Amount bounds are minor units of the payment's own currency (no FX conversion).

use crate::connector::ConnectorId;
use crate::context::{CaptureMode, PaymentMethodType};
use crate::money::{Country, Currency};
use crate::outcome::FallbackMatrix;
use serde::{Deserialize, Serialize};

/// A comparison of one field against a value. Ordering operators (`lt`..`between`) are only
/// meaningful for `amount`; [`validate_policy`] reports them elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum Test<T> {
    /// Equal.
    Eq(T),
    /// Not equal.
    Ne(T),
    /// One of.
    In(Vec<T>),
    /// None of.
    NotIn(Vec<T>),
    /// Less than.
    Lt(T),
    /// Less than or equal.
    Lte(T),
    /// Greater than.
    Gt(T),
    /// Greater than or equal.
    Gte(T),
    /// Inclusive range `[low, high]`.
    Between(T, T),
}

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Condition {
    /// Payment currency.
    Currency {
        /// The test.
        #[serde(flatten)]
        test: Test<Currency>,
    },
    /// Amount in minor units of the payment currency.
    Amount {
        /// The test.
        #[serde(flatten)]
        test: Test<i64>,
    },
    /// Billing country.
    Country {
        /// The test.
        #[serde(flatten)]
        test: Test<Country>,
    },
    /// Payment method type.
    PaymentMethod {
        /// The test.
        #[serde(flatten)]
        test: Test<PaymentMethodType>,
    },
    /// Card brand (lower case); a payment without a brand matches only `ne`/`not_in`.
    CardBrand {
        /// The test.
        #[serde(flatten)]
        test: Test<String>,
    },
    /// Capture mode.
    CaptureMode {
        /// The test.
        #[serde(flatten)]
        test: Test<CaptureMode>,
    },
    /// A metadata value; a missing key matches only `ne`/`not_in`.
    Metadata {
        /// Metadata key.
        key: String,
        /// The test.
        #[serde(flatten)]
        test: Test<String>,
    },
}

/// What a matching rule routes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleAction {
    /// An ordered path of connectors: try the first eligible, fall back along the rest.
    Path {
        /// Connectors in order.
        connectors: Vec<ConnectorId>,
    },
    /// A weighted split among the listed connectors (weights from the rule, not the connectors),
    /// then the rest of the listed ones by descending weight. Never falls through to others.
    Split {
        /// (connector, weight) pairs.
        weights: Vec<(ConnectorId, u32)>,
    },
}

/// One rule: all conditions must hold (an empty list matches everything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Human name shown in traces ("EUR to EU account").
    pub name: String,
    /// Conditions, ANDed.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Route when matched.
    pub action: RuleAction,
}

/// A routing policy (one published per merchant and mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Rules in priority order (first match wins).
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What to do after each outcome class.
    #[serde(default)]
    pub fallback: FallbackMatrix,
    /// Maximum provider calls per payment (default 3); skipped connectors do not count.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u8,
}

fn default_max_attempts() -> u8 {
    3
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: Vec::new(),
            fallback: FallbackMatrix::default(),
            max_attempts: 3,
        }
    }
}

/// A static problem found in a policy. `rule` is the 0-based rule index when it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PolicyIssue {
    /// Rule index (0-based), if the issue is about a rule.
    pub rule: Option<u32>,
    /// Machine-readable code: `unknown_connector`, `empty_path`, `unreachable_rule`,
    /// `operator_not_valid_for_field`, `empty_set`, `bad_range`, `bad_max_attempts`, `zero_split`.
    pub code: String,
    /// Human sentence.
    pub message: String,
}

/// Checks a policy against the merchant's connectors: unknown connector ids, empty paths or
/// splits, an ordering operator on a non-amount field, empty `in` sets, `between` with
/// low > high, `max_attempts == 0`, and unreachable rules: a rule shadowed by an earlier
/// condition-free rule, or by an earlier rule whose every condition is implied by one of its own
/// (or, for `amount`, by the range all its amount conditions allow together), so every payment
/// it matches is taken first by the earlier rule (see [`rule_implies`]). Returns every issue
/// found (empty = valid).
pub fn validate_policy(policy: &Policy, known: &[ConnectorId]) -> Vec<PolicyIssue> {
    let mut issues = crate::decide::validate(policy, known);
    for (j, later) in policy.rules.iter().enumerate() {
        let already = issues.iter().any(|i| {
            i.rule == Some(u32::try_from(j).unwrap_or(u32::MAX)) && i.code == "unreachable_rule"
        });
        if already {
            continue;
        }
        let shadow = policy
            .rules
            .iter()
            .enumerate()
            .take(j)
            .find(|(_, earlier)| !earlier.conditions.is_empty() && rule_implies(later, earlier));
        if let Some((i, earlier)) = shadow {
            issues.push(PolicyIssue {
                rule: Some(u32::try_from(j).unwrap_or(u32::MAX)),
                code: "unreachable_rule".to_owned(),
                message: format!(
                    "rule {} \"{}\" can never match: every payment it matches is already matched by rule {} \"{}\" (its conditions are implied)",
                    j + 1,
                    later.name,
                    i + 1,
                    earlier.name
                ),
            });
        }
    }
    issues
}

/// Whether every payment matching `later` also matches `earlier` (so `later`, placed after
/// `earlier`, is unreachable). Sound but not complete: `true` only when each condition of
/// `earlier` is implied by a single condition of `later` on the same field (same metadata key),
/// or, for `amount`, by the intersection of all of `later`'s amount ranges. Set semantics follow
/// `decide`: card brands compare case-insensitively; a missing card brand or metadata key
/// matches only `ne` / `not_in`; ordering operators on non-amount fields never match.
pub fn rule_implies(later: &Rule, earlier: &Rule) -> bool {
    earlier.conditions.iter().all(|e| {
        later.conditions.iter().any(|l| condition_implies(l, e))
            || match e {
                Condition::Amount { test } => {
                    let range = later
                        .conditions
                        .iter()
                        .filter_map(|c| match c {
                            Condition::Amount { test } => Some(amount_set(test)),
                            Condition::Currency { .. }
                            | Condition::Country { .. }
                            | Condition::PaymentMethod { .. }
                            | Condition::CardBrand { .. }
                            | Condition::CaptureMode { .. }
                            | Condition::Metadata { .. } => None,
                        })
                        .try_fold((i64::MIN, i64::MAX), |(lo, hi), s| match s {
                            AmountSet::Range(a, b) => Some((lo.max(a), hi.min(b))),
                            AmountSet::Points(_) | AmountSet::AllBut(_) => None,
                        });
                    match range {
                        Some((lo, hi)) if (lo, hi) != (i64::MIN, i64::MAX) => {
                            amount_subset(&AmountSet::Range(lo, hi), &amount_set(test))
                        }
                        Some(_) | None => false,
                    }
                }
                Condition::Currency { .. }
                | Condition::Country { .. }
                | Condition::PaymentMethod { .. }
                | Condition::CardBrand { .. }
                | Condition::CaptureMode { .. }
                | Condition::Metadata { .. } => false,
            }
    })
}

/// A set of values of an equality field: finitely many, or all but finitely many.
enum ValueSet<T> {
    Only(Vec<T>),
    AllBut(Vec<T>),
}

fn value_set<T: Clone>(test: &Test<T>) -> Option<ValueSet<T>> {
    match test {
        Test::Eq(v) => Some(ValueSet::Only(vec![v.clone()])),
        Test::In(vs) => Some(ValueSet::Only(vs.clone())),
        Test::Ne(v) => Some(ValueSet::AllBut(vec![v.clone()])),
        Test::NotIn(vs) => Some(ValueSet::AllBut(vs.clone())),
        // Never match on non-amount fields: nothing to conclude.
        Test::Lt(_) | Test::Lte(_) | Test::Gt(_) | Test::Gte(_) | Test::Between(..) => None,
    }
}

fn set_subset<T: PartialEq + Clone>(a: &Test<T>, b: &Test<T>) -> bool {
    match (value_set(a), value_set(b)) {
        (Some(ValueSet::Only(x)), Some(ValueSet::Only(y))) => x.iter().all(|v| y.contains(v)),
        (Some(ValueSet::Only(x)), Some(ValueSet::AllBut(y))) => x.iter().all(|v| !y.contains(v)),
        (Some(ValueSet::AllBut(x)), Some(ValueSet::AllBut(y))) => y.iter().all(|v| x.contains(v)),
        (Some(ValueSet::AllBut(_)), Some(ValueSet::Only(_))) | (None, _) | (_, None) => false,
    }
}

fn lower_test(test: &Test<String>) -> Test<String> {
    let l = |s: &String| s.to_ascii_lowercase();
    match test {
        Test::Eq(v) => Test::Eq(l(v)),
        Test::Ne(v) => Test::Ne(l(v)),
        Test::In(vs) => Test::In(vs.iter().map(l).collect()),
        Test::NotIn(vs) => Test::NotIn(vs.iter().map(l).collect()),
        Test::Lt(v) => Test::Lt(l(v)),
        Test::Lte(v) => Test::Lte(l(v)),
        Test::Gt(v) => Test::Gt(l(v)),
        Test::Gte(v) => Test::Gte(l(v)),
        Test::Between(a, b) => Test::Between(l(a), l(b)),
    }
}

/// Amounts matched by a test.
enum AmountSet {
    Range(i64, i64),
    Points(Vec<i64>),
    AllBut(Vec<i64>),
}

fn amount_set(test: &Test<i64>) -> AmountSet {
    match test {
        Test::Eq(v) => AmountSet::Range(*v, *v),
        Test::In(vs) => AmountSet::Points(vs.clone()),
        Test::Ne(v) => AmountSet::AllBut(vec![*v]),
        Test::NotIn(vs) => AmountSet::AllBut(vs.clone()),
        Test::Lt(v) => AmountSet::Range(i64::MIN, v.saturating_sub(1)),
        Test::Lte(v) => AmountSet::Range(i64::MIN, *v),
        Test::Gt(v) => AmountSet::Range(v.saturating_add(1), i64::MAX),
        Test::Gte(v) => AmountSet::Range(*v, i64::MAX),
        Test::Between(a, b) => AmountSet::Range(*a, *b),
    }
}

fn amount_subset(a: &AmountSet, b: &AmountSet) -> bool {
    match (a, b) {
        // An empty range matches nothing: trivially a subset, but reported elsewhere (bad_range);
        // do not call such a rule shadowed.
        (AmountSet::Range(lo, hi), _) if lo > hi => false,
        (AmountSet::Range(lo, hi), AmountSet::Range(x, y)) => x <= lo && hi <= y,
        (AmountSet::Range(lo, hi), AmountSet::Points(ps)) => {
            hi.checked_sub(*lo).is_some_and(|w| w < 10_000) && (*lo..=*hi).all(|v| ps.contains(&v))
        }
        (AmountSet::Range(lo, hi), AmountSet::AllBut(ps)) => ps.iter().all(|p| p < lo || p > hi),
        (AmountSet::Points(xs), AmountSet::Range(x, y)) => xs.iter().all(|v| x <= v && v <= y),
        (AmountSet::Points(xs), AmountSet::Points(ys)) => xs.iter().all(|v| ys.contains(v)),
        (AmountSet::Points(xs), AmountSet::AllBut(ys)) => xs.iter().all(|v| !ys.contains(v)),
        (AmountSet::AllBut(xs), AmountSet::AllBut(ys)) => ys.iter().all(|v| xs.contains(v)),
        (AmountSet::AllBut(_), AmountSet::Range(x, y)) => *x == i64::MIN && *y == i64::MAX,
        (AmountSet::AllBut(_), AmountSet::Points(_)) => false,
    }
}

/// Whether condition `a` implies condition `b` (every payment matching `a` matches `b`).
fn condition_implies(a: &Condition, b: &Condition) -> bool {
    match (a, b) {
        (Condition::Currency { test: x }, Condition::Currency { test: y }) => set_subset(x, y),
        (Condition::Country { test: x }, Condition::Country { test: y }) => set_subset(x, y),
        (Condition::PaymentMethod { test: x }, Condition::PaymentMethod { test: y }) => {
            set_subset(x, y)
        }
        (Condition::CaptureMode { test: x }, Condition::CaptureMode { test: y }) => {
            set_subset(x, y)
        }
        (Condition::CardBrand { test: x }, Condition::CardBrand { test: y }) => {
            set_subset(&lower_test(x), &lower_test(y))
        }
        (Condition::Metadata { key: k1, test: x }, Condition::Metadata { key: k2, test: y }) => {
            k1 == k2 && set_subset(x, y)
        }
        (Condition::Amount { test: x }, Condition::Amount { test: y }) => {
            amount_subset(&amount_set(x), &amount_set(y))
        }
        (
            Condition::Currency { .. }
            | Condition::Country { .. }
            | Condition::PaymentMethod { .. }
            | Condition::CaptureMode { .. }
            | Condition::CardBrand { .. }
            | Condition::Metadata { .. }
            | Condition::Amount { .. },
            _,
        ) => false,
    }
}

#[cfg(test)]
mod shadow_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rule(name: &str, conditions: serde_json::Value) -> Rule {
        serde_json::from_value(serde_json::json!({
            "name": name, "conditions": conditions,
            "action": {"type": "path", "connectors": ["0190f0e0-0000-7000-8000-000000000001"]}
        }))
        .unwrap()
    }

    fn policy(rules: Vec<Rule>) -> Policy {
        Policy {
            rules,
            ..Policy::default()
        }
    }

    fn known() -> Vec<ConnectorId> {
        vec![ConnectorId(
            uuid::Uuid::parse_str("0190f0e0-0000-7000-8000-000000000001").unwrap(),
        )]
    }

    fn unreachable(p: &Policy) -> Vec<u32> {
        validate_policy(p, &known())
            .into_iter()
            .filter(|i| i.code == "unreachable_rule")
            .filter_map(|i| i.rule)
            .collect()
    }

    #[test]
    fn narrower_rule_after_broader_one_is_unreachable() {
        let p = policy(vec![
            rule(
                "EUR",
                serde_json::json!([{"field": "currency", "op": "in", "value": ["EUR", "USD"]}]),
            ),
            rule(
                "EUR big",
                serde_json::json!([
                {"field": "currency", "op": "eq", "value": "EUR"},
                {"field": "amount", "op": "gte", "value": 10000}]),
            ),
        ]);
        assert_eq!(unreachable(&p), vec![1]);
        let msg = validate_policy(&p, &known())
            .into_iter()
            .find(|i| i.code == "unreachable_rule")
            .unwrap()
            .message;
        assert!(msg.contains("rule 1 \"EUR\""), "{msg}");
    }

    #[test]
    fn broader_rule_after_narrower_one_is_reachable() {
        let p = policy(vec![
            rule(
                "EUR big",
                serde_json::json!([
                {"field": "currency", "op": "eq", "value": "EUR"},
                {"field": "amount", "op": "gte", "value": 10000}]),
            ),
            rule(
                "EUR",
                serde_json::json!([{"field": "currency", "op": "eq", "value": "EUR"}]),
            ),
        ]);
        assert!(unreachable(&p).is_empty());
    }

    #[test]
    fn amount_ranges_combine_and_sets_complement() {
        let p = policy(vec![
            rule(
                "mid",
                serde_json::json!([{"field": "amount", "op": "between", "value": [100, 1000]}]),
            ),
            rule(
                "inner",
                serde_json::json!([
                {"field": "amount", "op": "gte", "value": 200},
                {"field": "amount", "op": "lt", "value": 500}]),
            ),
            rule(
                "not GB",
                serde_json::json!([{"field": "country", "op": "ne", "value": "GB"}]),
            ),
            rule(
                "DE or FR",
                serde_json::json!([{"field": "country", "op": "in", "value": ["DE", "FR"]}]),
            ),
            rule(
                "GB",
                serde_json::json!([{"field": "country", "op": "eq", "value": "GB"}]),
            ),
            rule(
                "brand",
                serde_json::json!([{"field": "card_brand", "op": "eq", "value": "Visa"}]),
            ),
            rule(
                "brand lower",
                serde_json::json!([{"field": "card_brand", "op": "in", "value": ["visa"]}]),
            ),
            rule(
                "meta a",
                serde_json::json!([{"field": "metadata", "key": "a", "op": "eq", "value": "x"}]),
            ),
            rule(
                "meta b",
                serde_json::json!([{"field": "metadata", "key": "b", "op": "eq", "value": "x"}]),
            ),
        ]);
        assert_eq!(unreachable(&p), vec![1, 3, 6]);
    }

    #[test]
    fn catch_all_shadowing_is_reported_once() {
        let p = policy(vec![
            rule("all", serde_json::json!([])),
            rule(
                "EUR",
                serde_json::json!([{"field": "currency", "op": "eq", "value": "EUR"}]),
            ),
        ]);
        assert_eq!(unreachable(&p), vec![1]);
    }
}
