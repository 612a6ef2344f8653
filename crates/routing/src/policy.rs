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
/// low > high, a rule shadowed by an earlier condition-free rule (unreachable),
/// `max_attempts == 0`. Returns every issue found (empty = valid).
pub fn validate_policy(policy: &Policy, known: &[ConnectorId]) -> Vec<PolicyIssue> {
    crate::decide::validate(policy, known)
}
