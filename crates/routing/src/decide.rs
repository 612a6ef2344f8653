//! The route decision: DESIGN.md §4, exactly.
//!
//! [`decide`] takes the normalised context, the merchant's connectors, the published policy, the
//! payment's mode and a random roll in `[0, 1)`, and returns the ordered path of connectors to try
//! plus a [`RouteTrace`] with a verdict for every connector. Same inputs + same roll = same output.
//!
//! Choices the design leaves open, fixed here:
//! - **Skip reason precedence.** Eligibility is checked first, for every connector, in this order:
//!   disabled, other mode, circuit open / probe budget exhausted, currency, country, method,
//!   capture mode, tokens. The first failing check is the reported reason, also for a connector
//!   that is not in the matched rule or has weight 0 (the stronger, more useful reason wins).
//!   Only eligible connectors get [`SkipReason::NotInMatchedRule`], [`SkipReason::WeightZero`] or
//!   [`SkipReason::PathCapReached`].
//! - **The primary** is the first connector (input order) with `is_primary` in the payment's mode;
//!   other `is_primary` connectors are treated as ordinary ones. A primary with weight > 0 takes
//!   part in the weighted pick (it receives its share of first attempts); when it is not picked it
//!   still comes last, after the other weighted connectors ("the designated last resort").
//! - **The path cap** truncates the ordered path; the primary is not moved up to stay within it.
//! - **Split rules** lay out the rule's listed, eligible connectors with weight > 0 like the default
//!   route (descending weight, ties by `created_seq`, then list order); listed eligible connectors
//!   with weight 0 come after them. The rule's source stays [`RouteSource::Rule`].
//! - Connector ids in a rule that are not in `connectors` are ignored (validation reports them); a
//!   connector listed twice in a rule counts once (first place). A connector id given twice in
//!   `connectors` is routed once; the later entries repeat the first entry's verdict.
//! - Human texts number rules from 1 (`rule 1 "EUR to EU"` is `RouteSource::Rule { index: 0 }`).
//!   Rolls and bounds are shown with 2 to 4 decimals.
//! - Conditions: ordering operators (`lt`..`between`) only apply to `amount` and are `false`
//!   elsewhere; card brands compare case-insensitively, metadata values exactly; a missing card
//!   brand or metadata key matches only `ne` / `not_in`.

use crate::connector::{CircuitState, Connector, ConnectorId, ConnectorStatus, Mode};
use crate::context::{CaptureMode, PaymentContext, PaymentMethodType, TokenScope};
use crate::money::{Country, Currency};
use crate::policy::{Condition, Policy, PolicyIssue, Rule, RuleAction, Test};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// How the path was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouteSource {
    /// Rule `index` (0-based) named `name` matched; weights were ignored.
    Rule {
        /// 0-based rule index.
        index: u32,
        /// Rule name.
        name: String,
    },
    /// No rule matched; weighted pick with this roll.
    Weighted {
        /// The roll in `[0, 1)`.
        roll: f64,
    },
    /// No rule matched and no weighted connector was eligible; the primary alone.
    Primary,
    /// Nothing eligible: the payment fails with `no_eligible_connector`.
    NoEligibleConnector,
}

/// Why a connector is in the path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SelectReason {
    /// Listed in the matched rule's path at this 0-based position.
    RulePath {
        /// Position in the rule's path.
        position: u32,
    },
    /// Won the weighted pick: `lower <= roll < upper`.
    WeightedPick {
        /// Lower bound of its interval.
        lower: f64,
        /// Upper bound of its interval.
        upper: f64,
        /// The roll.
        roll: f64,
    },
    /// Another eligible weighted connector, ordered by descending weight.
    WeightedOrder {
        /// Its weight.
        weight: u32,
    },
    /// The primary, last resort of the default route.
    PrimaryLastResort,
}

/// Why a connector is not in the path (or not called).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SkipReason {
    /// Status is disabled.
    Disabled,
    /// Connector is in the other mode (test vs live).
    OtherMode {
        /// The connector's mode.
        connector_mode: Mode,
    },
    /// Circuit open.
    CircuitOpen,
    /// Half-open with no probe budget left.
    ProbeBudgetExhausted,
    /// Weight 0: receives no weighted traffic (and is not the primary).
    WeightZero,
    /// Currency not in its capabilities.
    CurrencyUnsupported {
        /// The payment currency.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        currency: Currency,
    },
    /// Billing country not in its capabilities.
    CountryUnsupported {
        /// The billing country.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        country: Country,
    },
    /// Payment method type not accepted.
    MethodUnsupported {
        /// The payment method type.
        method: PaymentMethodType,
    },
    /// Capture mode not accepted.
    CaptureModeUnsupported {
        /// The capture mode.
        capture: CaptureMode,
    },
    /// None of the payment's tokens may be used on this connector.
    NoUsableToken,
    /// A rule matched and this connector is not in it.
    NotInMatchedRule,
    /// Eligible, but the path cap was reached before its turn.
    PathCapReached,
}

/// Verdict for one connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// In the path at this 0-based position.
    Selected {
        /// Position in the path.
        position: u32,
        /// Why.
        reason: SelectReason,
    },
    /// Not in the path.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// One line of the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TraceEntry {
    /// Connector id.
    pub connector_id: ConnectorId,
    /// Connector name at decision time.
    pub connector_name: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Human sentence, the same text "explain" shows, e.g.
    /// `"Stripe EU Backup: selected #1, rule 1 \"EUR to EU\" matched"` or
    /// `"Square Fallback: skipped, no token usable on Square Fallback"`.
    pub explanation: String,
}

/// The trace: one entry per connector of the merchant (in the input order), plus the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RouteTrace {
    /// How the path was chosen.
    pub source: RouteSource,
    /// One entry per connector.
    pub entries: Vec<TraceEntry>,
}

/// The decision: the ordered path (length <= policy.max_attempts) and its trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RouteDecision {
    /// Connectors to call, in order. Empty = `no_eligible_connector`.
    pub path: Vec<ConnectorId>,
    /// Why each connector is or is not in it.
    pub trace: RouteTrace,
}

/// Decides the route (DESIGN.md §4):
/// 1. rules in priority order; the first match gives the whole route (weights ignored, no fall
///    through to weights or the primary); a rule whose steps are all ineligible gives an empty path;
/// 2. no match: weighted pick among eligible connectors with weight > 0, intervals laid out by
///    descending weight (ties by `created_seq`), `roll` in `[0, 1)` picks the first step; then the
///    other eligible weighted connectors by descending weight; then the primary (once);
/// 3. no eligible weighted connector: the primary alone, if eligible;
/// 4. eligibility: active, same `mode`, circuit not open (half-open only with probe budget),
///    capabilities (currency, country, method, capture mode) and at least one usable token;
/// 5. the path is capped at `policy.max_attempts` (0 is treated as 1).
///
/// `roll` outside `[0, 1)` (or NaN) is clamped into it. Never panics. See the module docs for
/// the choices the design leaves open (skip reason precedence, primary placement, splits).
pub fn decide(
    ctx: &PaymentContext,
    connectors: &[Connector],
    policy: &Policy,
    mode: Mode,
    roll: f64,
) -> RouteDecision {
    let roll = clamp_roll(roll);
    let cap = usize::from(policy.max_attempts.max(1));

    // First input index of every id: later duplicates are never routed on their own.
    let mut first_of: BTreeMap<ConnectorId, usize> = BTreeMap::new();
    for (i, c) in connectors.iter().enumerate() {
        first_of.entry(c.id).or_insert(i);
    }
    let eligibility: Vec<Result<(), SkipReason>> = connectors
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if first_of.get(&c.id) == Some(&i) {
                check_eligibility(ctx, c, mode)
            } else {
                Ok(())
            }
        })
        .collect();
    let candidates = Candidates {
        connectors,
        first_of: &first_of,
        eligibility: &eligibility,
    };

    let matched = policy
        .rules
        .iter()
        .enumerate()
        .find(|(_, rule)| rule_matches(rule, ctx));
    let (source, steps) = match matched {
        Some((index, rule)) => (
            RouteSource::Rule {
                index: to_u32(index),
                name: rule.name.clone(),
            },
            rule_steps(rule, &candidates, roll),
        ),
        None => default_steps(&candidates, mode, roll),
    };

    // Verdicts, indexed like `connectors`.
    let mut verdicts: Vec<Option<Verdict>> = vec![None; connectors.len()];
    let mut path = Vec::with_capacity(cap.min(steps.len()));
    for (position, step) in steps.into_iter().enumerate() {
        let verdict = if position < cap {
            if let Some(c) = connectors.get(step.index) {
                path.push(c.id);
            }
            Verdict::Selected {
                position: to_u32(position),
                reason: step.reason,
            }
        } else {
            Verdict::Skipped {
                reason: SkipReason::PathCapReached,
            }
        };
        if let Some(slot) = verdicts.get_mut(step.index) {
            *slot = Some(verdict);
        }
    }
    let not_chosen = match source {
        RouteSource::Rule { .. } => SkipReason::NotInMatchedRule,
        RouteSource::Weighted { .. } | RouteSource::Primary | RouteSource::NoEligibleConnector => {
            SkipReason::WeightZero
        }
    };
    let explain_ctx = ExplainCtx {
        source: &source,
        cap,
    };
    let mut entries: Vec<TraceEntry> = Vec::with_capacity(connectors.len());
    for (i, c) in connectors.iter().enumerate() {
        let first = first_of.get(&c.id).copied().unwrap_or(i);
        let verdict = if first == i {
            match (
                verdicts.get_mut(i).and_then(Option::take),
                eligibility.get(i),
            ) {
                (Some(v), _) => v,
                (None, Some(Err(reason))) => Verdict::Skipped {
                    reason: reason.clone(),
                },
                (None, Some(Ok(())) | None) => Verdict::Skipped {
                    reason: not_chosen.clone(),
                },
            }
        } else {
            // A repeated id: same verdict as its first entry (already built, first < i).
            match entries.get(first) {
                Some(e) => e.verdict.clone(),
                None => Verdict::Skipped {
                    reason: not_chosen.clone(),
                },
            }
        };
        let explanation = explain_verdict(&c.name, &verdict, &explain_ctx);
        entries.push(TraceEntry {
            connector_id: c.id,
            connector_name: c.name.clone(),
            verdict,
            explanation,
        });
    }
    RouteDecision {
        path,
        trace: RouteTrace { source, entries },
    }
}

/// The token of `ctx` to send to `connector`, if any (connector-scoped first, then
/// provider-scoped, then portable when the connector accepts portable tokens).
pub fn usable_token<'a>(ctx: &'a PaymentContext, connector: &Connector) -> Option<&'a str> {
    let connector_scoped = || {
        ctx.tokens.iter().find(
            |t| matches!(&t.scope, TokenScope::Connector { connector_id } if *connector_id == connector.id),
        )
    };
    let provider_scoped = || {
        ctx.tokens
            .iter()
            .find(|t| matches!(&t.scope, TokenScope::Provider { provider } if *provider == connector.provider))
    };
    let portable = || {
        if connector.capabilities.accepts_portable_tokens {
            ctx.tokens
                .iter()
                .find(|t| matches!(t.scope, TokenScope::Portable))
        } else {
            None
        }
    };
    connector_scoped()
        .or_else(provider_scoped)
        .or_else(portable)
        .map(|t| t.token.as_str())
}

impl RouteTrace {
    /// The multi-line "explain" text: one line for the source, then one indented line per
    /// connector (the entries' explanations, in input order).
    pub fn explain(&self) -> String {
        let any_selected = self
            .entries
            .iter()
            .any(|e| matches!(e.verdict, Verdict::Selected { .. }));
        let mut out = String::from("Route: ");
        match &self.source {
            RouteSource::Rule { index, name } => {
                let _ = write!(
                    out,
                    "rule {} \"{name}\" matched (weights ignored)",
                    u64::from(*index) + 1
                );
                if !any_selected {
                    out.push_str("; none of its steps is eligible: no_eligible_connector");
                }
            }
            RouteSource::Weighted { roll } => {
                let _ = write!(
                    out,
                    "no rule matched; weighted pick with roll {}",
                    fmt_unit(*roll)
                );
            }
            RouteSource::Primary => {
                out.push_str(
                    "no rule matched and no weighted connector is eligible; primary alone",
                );
            }
            RouteSource::NoEligibleConnector => {
                out.push_str("no rule matched and no connector is eligible: no_eligible_connector");
            }
        }
        for e in &self.entries {
            out.push_str("\n  ");
            out.push_str(&e.explanation);
        }
        out
    }
}

/// Largest `f64` below 1.0.
const ROLL_MAX: f64 = 1.0 - f64::EPSILON / 2.0;

/// Clamps a roll into `[0, 1)`; NaN becomes 0.
fn clamp_roll(roll: f64) -> f64 {
    if roll.is_nan() || roll <= 0.0 {
        0.0
    } else if roll >= 1.0 {
        ROLL_MAX
    } else {
        roll
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Eligibility of one connector, strongest reason first (see the module docs).
fn check_eligibility(ctx: &PaymentContext, c: &Connector, mode: Mode) -> Result<(), SkipReason> {
    match c.status {
        ConnectorStatus::Active => {}
        ConnectorStatus::Disabled => return Err(SkipReason::Disabled),
    }
    if c.mode != mode {
        return Err(SkipReason::OtherMode {
            connector_mode: c.mode,
        });
    }
    match c.circuit {
        CircuitState::Closed => {}
        CircuitState::Open => return Err(SkipReason::CircuitOpen),
        CircuitState::HalfOpen { probe_budget } => {
            if probe_budget == 0 {
                return Err(SkipReason::ProbeBudgetExhausted);
            }
        }
    }
    let caps = &c.capabilities;
    if !caps.currencies.is_empty() && !caps.currencies.contains(&ctx.money.currency) {
        return Err(SkipReason::CurrencyUnsupported {
            currency: ctx.money.currency,
        });
    }
    if !caps.countries.is_empty() && !caps.countries.contains(&ctx.country) {
        return Err(SkipReason::CountryUnsupported {
            country: ctx.country,
        });
    }
    if !caps.methods.contains(&ctx.method) {
        return Err(SkipReason::MethodUnsupported { method: ctx.method });
    }
    if !caps.capture_modes.contains(&ctx.capture) {
        return Err(SkipReason::CaptureModeUnsupported {
            capture: ctx.capture,
        });
    }
    if usable_token(ctx, c).is_none() {
        return Err(SkipReason::NoUsableToken);
    }
    Ok(())
}

/// The connectors of one decision and which of them may be routed to.
struct Candidates<'a> {
    connectors: &'a [Connector],
    first_of: &'a BTreeMap<ConnectorId, usize>,
    eligibility: &'a [Result<(), SkipReason>],
}

impl Candidates<'_> {
    /// Whether input index `i` is the first entry of its id and eligible.
    fn ok(&self, i: usize) -> bool {
        let first = self
            .connectors
            .get(i)
            .and_then(|c| self.first_of.get(&c.id))
            == Some(&i);
        first && matches!(self.eligibility.get(i), Some(Ok(())))
    }
    fn created_seq(&self, i: usize) -> i64 {
        self.connectors.get(i).map_or(i64::MAX, |c| c.created_seq)
    }
}

/// One step of the ordered (uncapped) path: the connector's input index and why it is there.
struct Step {
    index: usize,
    reason: SelectReason,
}

/// Lays out `[lower, upper)` intervals over `list` (already in layout order; weight-0 entries get
/// none) and returns the position in `list` whose interval contains `roll`, with its bounds.
fn weighted_pick(list: &[(usize, u32)], roll: f64) -> Option<(usize, f64, f64)> {
    let total: u64 = list.iter().map(|&(_, w)| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let total_f = total as f64;
    let mut cumulative = 0u64;
    let mut last = None;
    for (k, &(_, w)) in list.iter().enumerate() {
        if w == 0 {
            continue;
        }
        let lower = cumulative as f64 / total_f;
        cumulative += u64::from(w);
        let upper = cumulative as f64 / total_f;
        if roll < upper {
            return Some((k, lower, upper));
        }
        last = Some((k, lower, upper));
    }
    // Only reachable through rounding at the top end: the last interval takes it.
    last
}

/// Weighted pick first, then the rest of `list` in order.
fn weighted_steps(list: &[(usize, u32)], roll: f64, out: &mut Vec<Step>) -> Option<usize> {
    let picked = weighted_pick(list, roll);
    if let Some((k, lower, upper)) = picked
        && let Some(&(index, _)) = list.get(k)
    {
        out.push(Step {
            index,
            reason: SelectReason::WeightedPick { lower, upper, roll },
        });
    }
    let picked_k = picked.map(|(k, _, _)| k);
    for (k, &(index, weight)) in list.iter().enumerate() {
        if Some(k) != picked_k {
            out.push(Step {
                index,
                reason: SelectReason::WeightedOrder { weight },
            });
        }
    }
    picked_k.and_then(|k| list.get(k)).map(|&(index, _)| index)
}

/// The matched rule's steps (eligible ones only, uncapped).
fn rule_steps(rule: &Rule, cands: &Candidates<'_>, roll: f64) -> Vec<Step> {
    let mut seen: Vec<usize> = Vec::new();
    let mut steps = Vec::new();
    match &rule.action {
        RuleAction::Path { connectors } => {
            for (position, id) in connectors.iter().enumerate() {
                let Some(&index) = cands.first_of.get(id) else {
                    continue;
                };
                if seen.contains(&index) {
                    continue;
                }
                seen.push(index);
                if cands.ok(index) {
                    steps.push(Step {
                        index,
                        reason: SelectReason::RulePath {
                            position: to_u32(position),
                        },
                    });
                }
            }
        }
        RuleAction::Split { weights } => {
            // (input index, rule weight, list position)
            let mut listed: Vec<(usize, u32, usize)> = Vec::new();
            for (position, (id, weight)) in weights.iter().enumerate() {
                let Some(&index) = cands.first_of.get(id) else {
                    continue;
                };
                if seen.contains(&index) {
                    continue;
                }
                seen.push(index);
                if cands.ok(index) {
                    listed.push((index, *weight, position));
                }
            }
            listed.sort_by_key(|&(index, weight, position)| {
                (Reverse(weight), cands.created_seq(index), position)
            });
            let list: Vec<(usize, u32)> = listed.iter().map(|&(i, w, _)| (i, w)).collect();
            weighted_steps(&list, roll, &mut steps);
        }
    }
    steps
}

/// The default route (no rule matched): source and uncapped steps.
fn default_steps(cands: &Candidates<'_>, mode: Mode, roll: f64) -> (RouteSource, Vec<Step>) {
    let primary = cands
        .connectors
        .iter()
        .position(|c| c.is_primary && c.mode == mode);
    let primary_ok = primary.is_some_and(|p| cands.ok(p));
    let mut weighted: Vec<(usize, u32)> = cands
        .connectors
        .iter()
        .enumerate()
        .filter(|&(i, c)| c.weight > 0 && cands.ok(i))
        .map(|(i, c)| (i, c.weight))
        .collect();
    weighted.sort_by_key(|&(i, w)| (Reverse(w), cands.created_seq(i), i));

    let mut steps = Vec::new();
    if weighted.is_empty() {
        return match primary {
            Some(index) if primary_ok => {
                steps.push(Step {
                    index,
                    reason: SelectReason::PrimaryLastResort,
                });
                (RouteSource::Primary, steps)
            }
            Some(_) | None => (RouteSource::NoEligibleConnector, steps),
        };
    }
    // The pick covers every weighted connector (the primary too); the ordered rest leaves the
    // primary out, it goes last.
    let picked = weighted_pick(&weighted, roll);
    let picked_index = picked
        .and_then(|(k, _, _)| weighted.get(k))
        .map(|&(i, _)| i);
    if let (Some((_, lower, upper)), Some(index)) = (picked, picked_index) {
        steps.push(Step {
            index,
            reason: SelectReason::WeightedPick { lower, upper, roll },
        });
    }
    for &(index, weight) in &weighted {
        if Some(index) != picked_index && Some(index) != primary {
            steps.push(Step {
                index,
                reason: SelectReason::WeightedOrder { weight },
            });
        }
    }
    if let Some(p) = primary
        && primary_ok
        && picked_index != Some(p)
    {
        steps.push(Step {
            index: p,
            reason: SelectReason::PrimaryLastResort,
        });
    }
    (RouteSource::Weighted { roll }, steps)
}

/// Whether every condition of `rule` holds for `ctx` (an empty list matches everything).
fn rule_matches(rule: &Rule, ctx: &PaymentContext) -> bool {
    rule.conditions.iter().all(|c| condition_matches(c, ctx))
}

/// Evaluates one condition.
pub(crate) fn condition_matches(cond: &Condition, ctx: &PaymentContext) -> bool {
    match cond {
        Condition::Currency { test } => {
            test_equality(test, Some(&ctx.money.currency), |a, v| a == v)
        }
        Condition::Amount { test } => test_amount(test, ctx.money.amount_minor),
        Condition::Country { test } => test_equality(test, Some(&ctx.country), |a, v| a == v),
        Condition::PaymentMethod { test } => test_equality(test, Some(&ctx.method), |a, v| a == v),
        Condition::CardBrand { test } => {
            test_equality(test, ctx.card_brand.as_deref(), |a: &String, v: &str| {
                a.eq_ignore_ascii_case(v)
            })
        }
        Condition::CaptureMode { test } => test_equality(test, Some(&ctx.capture), |a, v| a == v),
        Condition::Metadata { key, test } => test_equality(
            test,
            ctx.metadata.get(key).map(String::as_str),
            |a: &String, v: &str| a == v,
        ),
    }
}

/// `eq`/`ne`/`in`/`not_in` on an unordered field; ordering operators are false. A missing value
/// matches only `ne` and `not_in`.
fn test_equality<T, V: ?Sized>(
    test: &Test<T>,
    value: Option<&V>,
    eq: impl Fn(&T, &V) -> bool,
) -> bool {
    match (test, value) {
        (Test::Eq(a), Some(v)) => eq(a, v),
        (Test::Ne(a), Some(v)) => !eq(a, v),
        (Test::In(set), Some(v)) => set.iter().any(|a| eq(a, v)),
        (Test::NotIn(set), Some(v)) => !set.iter().any(|a| eq(a, v)),
        (Test::Ne(_) | Test::NotIn(_), None) => true,
        (Test::Eq(_) | Test::In(_), None) => false,
        (Test::Lt(_) | Test::Lte(_) | Test::Gt(_) | Test::Gte(_) | Test::Between(..), _) => false,
    }
}

/// Every operator on the amount (minor units); `between` is inclusive.
fn test_amount(test: &Test<i64>, v: i64) -> bool {
    match test {
        Test::Eq(a) => v == *a,
        Test::Ne(a) => v != *a,
        Test::In(set) => set.contains(&v),
        Test::NotIn(set) => !set.contains(&v),
        Test::Lt(a) => v < *a,
        Test::Lte(a) => v <= *a,
        Test::Gt(a) => v > *a,
        Test::Gte(a) => v >= *a,
        Test::Between(low, high) => *low <= v && v <= *high,
    }
}

/// What the explanations need besides the verdict.
struct ExplainCtx<'a> {
    source: &'a RouteSource,
    cap: usize,
}

/// `0.42`, `0.7` -> `0.70`, `0.6999` : 2 to 4 decimals.
fn fmt_unit(x: f64) -> String {
    let mut s = format!("{x:.4}");
    while s.ends_with('0') && s.find('.').is_some_and(|dot| s.len() - dot > 3) {
        s.pop();
    }
    s
}

fn explain_verdict(name: &str, verdict: &Verdict, ec: &ExplainCtx<'_>) -> String {
    let rule = match ec.source {
        RouteSource::Rule { index, name } => {
            Some(format!("rule {} \"{name}\"", u64::from(*index) + 1))
        }
        RouteSource::Weighted { .. } | RouteSource::Primary | RouteSource::NoEligibleConnector => {
            None
        }
    };
    match verdict {
        Verdict::Selected { position, reason } => {
            let n = u64::from(*position) + 1;
            let why = match (reason, &rule) {
                (SelectReason::RulePath { position: step }, Some(r)) if step == position => {
                    format!("{r} matched")
                }
                (SelectReason::RulePath { position: step }, Some(r)) => {
                    format!("{r} matched, step {} of its path", u64::from(*step) + 1)
                }
                (SelectReason::RulePath { position: step }, None) => {
                    format!("step {} of the rule", u64::from(*step) + 1)
                }
                (SelectReason::WeightedPick { lower, upper, roll }, r) => format!(
                    "{}weighted pick: roll {} in [{}, {})",
                    r.as_ref()
                        .map(|r| format!("{r} matched; "))
                        .unwrap_or_default(),
                    fmt_unit(*roll),
                    fmt_unit(*lower),
                    fmt_unit(*upper)
                ),
                (SelectReason::WeightedOrder { weight }, Some(r)) => {
                    format!("{r} matched; next by split weight {weight}")
                }
                (SelectReason::WeightedOrder { weight }, None) => {
                    format!("next eligible weighted connector (weight {weight})")
                }
                (SelectReason::PrimaryLastResort, _) => match ec.source {
                    RouteSource::Primary => "primary: no weighted connector is eligible".to_owned(),
                    RouteSource::Rule { .. }
                    | RouteSource::Weighted { .. }
                    | RouteSource::NoEligibleConnector => {
                        "primary, last resort of the default route".to_owned()
                    }
                },
            };
            format!("{name}: selected #{n} — {why}")
        }
        Verdict::Skipped { reason } => {
            let why = match reason {
                SkipReason::Disabled => "connector is disabled".to_owned(),
                SkipReason::OtherMode { connector_mode } => {
                    let (theirs, ours) = match connector_mode {
                        Mode::Test => ("test", "live"),
                        Mode::Live => ("live", "test"),
                    };
                    format!("connector is in {theirs} mode, the payment is {ours}")
                }
                SkipReason::CircuitOpen => "circuit open".to_owned(),
                SkipReason::ProbeBudgetExhausted => {
                    "circuit half-open and its probe budget is used up".to_owned()
                }
                SkipReason::WeightZero => "weight 0 (receives no weighted traffic)".to_owned(),
                SkipReason::CurrencyUnsupported { currency } => {
                    format!("currency {currency} not supported")
                }
                SkipReason::CountryUnsupported { country } => {
                    format!("billing country {country} not supported")
                }
                SkipReason::MethodUnsupported { method } => {
                    format!("payment method {} not supported", method_str(*method))
                }
                SkipReason::CaptureModeUnsupported { capture } => {
                    format!("capture mode {} not supported", capture_str(*capture))
                }
                SkipReason::NoUsableToken => format!("no token usable on {name}"),
                SkipReason::NotInMatchedRule => match &rule {
                    Some(r) => format!("not in matched {r}"),
                    None => "not in the matched rule".to_owned(),
                },
                SkipReason::PathCapReached => {
                    let s = if ec.cap == 1 { "" } else { "s" };
                    format!("path cap of {} provider call{s} reached", ec.cap)
                }
            };
            format!("{name}: skipped — {why}")
        }
    }
}

fn method_str(m: PaymentMethodType) -> &'static str {
    match m {
        PaymentMethodType::Card => "card",
        PaymentMethodType::Wallet => "wallet",
        PaymentMethodType::Bank => "bank",
    }
}

fn capture_str(c: CaptureMode) -> &'static str {
    match c {
        CaptureMode::Automatic => "automatic",
        CaptureMode::Manual => "manual",
    }
}

pub(crate) fn validate(policy: &Policy, known: &[ConnectorId]) -> Vec<PolicyIssue> {
    let known: BTreeSet<&ConnectorId> = known.iter().collect();
    let mut issues = Vec::new();
    if policy.max_attempts == 0 {
        issues.push(PolicyIssue {
            rule: None,
            code: "bad_max_attempts".to_owned(),
            message: "max_attempts must be at least 1 (provider calls allowed per payment)"
                .to_owned(),
        });
    }
    let mut catch_all: Option<(usize, &str)> = None;
    for (i, rule) in policy.rules.iter().enumerate() {
        let label = format!("rule {} \"{}\"", i + 1, rule.name);
        let mut push = |code: &str, message: String| {
            issues.push(PolicyIssue {
                rule: Some(to_u32(i)),
                code: code.to_owned(),
                message,
            });
        };
        if let Some((j, shadow)) = catch_all {
            push(
                "unreachable_rule",
                format!(
                    "{label} can never match: rule {} \"{shadow}\" has no conditions and matches every payment",
                    j + 1
                ),
            );
        }
        for cond in &rule.conditions {
            check_condition(cond, &label, &mut push);
        }
        let ids: Vec<&ConnectorId> = match &rule.action {
            RuleAction::Path { connectors } => {
                if connectors.is_empty() {
                    push(
                        "empty_path",
                        format!("{label}: its path lists no connector"),
                    );
                }
                connectors.iter().collect()
            }
            RuleAction::Split { weights } => {
                if weights.is_empty() {
                    push(
                        "empty_path",
                        format!("{label}: its split lists no connector"),
                    );
                } else if weights.iter().all(|(_, w)| *w == 0) {
                    push("zero_split", format!("{label}: its split weights sum to 0"));
                }
                weights.iter().map(|(id, _)| id).collect()
            }
        };
        let mut reported: Vec<&ConnectorId> = Vec::new();
        for id in ids {
            if !known.contains(id) && !reported.contains(&id) {
                reported.push(id);
                push(
                    "unknown_connector",
                    format!("{label}: connector {id} is not a connector of this merchant"),
                );
            }
        }
        if rule.conditions.is_empty() && catch_all.is_none() {
            catch_all = Some((i, rule.name.as_str()));
        }
    }
    issues
}

/// Static checks of one condition.
fn check_condition(cond: &Condition, label: &str, push: &mut impl FnMut(&str, String)) {
    match cond {
        Condition::Currency { test } => check_test(test, "currency", label, push),
        Condition::Amount { test } => {
            // Every operator is valid on the amount; only the range needs a look.
            if let Test::Between(low, high) = test
                && low > high
            {
                push(
                    "bad_range",
                    format!("{label}: amount between {low} and {high} is empty (low > high)"),
                );
            }
            check_sets(test, "amount", label, push);
        }
        Condition::Country { test } => check_test(test, "country", label, push),
        Condition::PaymentMethod { test } => check_test(test, "payment_method", label, push),
        Condition::CardBrand { test } => check_test(test, "card_brand", label, push),
        Condition::CaptureMode { test } => check_test(test, "capture_mode", label, push),
        Condition::Metadata { key, test } => {
            check_test(test, &format!("metadata \"{key}\""), label, push)
        }
    }
}

fn check_test<T>(test: &Test<T>, field: &str, label: &str, push: &mut impl FnMut(&str, String)) {
    let op = match test {
        Test::Lt(_) => Some("lt"),
        Test::Lte(_) => Some("lte"),
        Test::Gt(_) => Some("gt"),
        Test::Gte(_) => Some("gte"),
        Test::Between(..) => Some("between"),
        Test::Eq(_) | Test::Ne(_) | Test::In(_) | Test::NotIn(_) => None,
    };
    if let Some(op) = op {
        push(
            "operator_not_valid_for_field",
            format!("{label}: operator {op} is only valid on amount, not on {field}"),
        );
    }
    check_sets(test, field, label, push);
}

fn check_sets<T>(test: &Test<T>, field: &str, label: &str, push: &mut impl FnMut(&str, String)) {
    match test {
        Test::In(set) if set.is_empty() => {
            push("empty_set", format!("{label}: {field} in [] never matches"));
        }
        Test::NotIn(set) if set.is_empty() => {
            push(
                "empty_set",
                format!("{label}: {field} not_in [] always matches"),
            );
        }
        Test::Eq(_)
        | Test::Ne(_)
        | Test::In(_)
        | Test::NotIn(_)
        | Test::Lt(_)
        | Test::Lte(_)
        | Test::Gt(_)
        | Test::Gte(_)
        | Test::Between(..) => {}
    }
}
