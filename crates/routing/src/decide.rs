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
    /// `"Stripe EU Backup: selected #1 — rule 1 \"EUR to EU\" matched"` or
    /// `"Square Fallback: skipped — no token usable on Square Fallback"`.
    ///
    /// Rendered from [`Self::verdict`]: empty after [`decide`], filled by
    /// [`RouteTrace::fill_explanations`] (or [`decide_explained`]).
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
///
/// Every structured verdict (reasons, positions, intervals) is computed here, but the human
/// [`TraceEntry::explanation`] texts are left empty: they are rendered from the verdicts by
/// [`RouteTrace::fill_explanations`], or use [`decide_explained`] to get both in one call.
/// [`RouteTrace::explain`] renders missing texts on the fly.
pub fn decide(
    ctx: &PaymentContext,
    connectors: &[Connector],
    policy: &Policy,
    mode: Mode,
    roll: f64,
) -> RouteDecision {
    let roll = clamp_roll(roll);
    let cap = usize::from(policy.max_attempts.max(1));

    // Rules only look at the context, so the match is known before the connectors are: an
    // eligible connector that ends up not chosen gets `not_chosen`.
    let mut facts = Facts::new(ctx);
    let matched = policy
        .rules
        .iter()
        .enumerate()
        .find(|(_, rule)| rule_matches(rule, &mut facts));
    let not_chosen = match matched {
        Some(_) => SkipReason::NotInMatchedRule,
        None => SkipReason::WeightZero,
    };

    // Every entry starts as skipped (its eligibility failure, or `not_chosen`); the chosen steps
    // overwrite their entry's verdict as they are laid out.
    let mut slots = first_indices(connectors);
    // The names are copied before the entries' buffer is allocated: with many small blocks
    // freed by the previous decision, allocating the large buffer first costs the allocator a
    // consolidation pass (measured: ~10% of a decision).
    let mut names: [String; INLINE] = std::array::from_fn(|_| String::new());
    let mut more_names: Vec<String> = Vec::new();
    for (i, c) in connectors.iter().enumerate() {
        let name = copy_str(&c.name);
        match names.get_mut(i) {
            Some(slot) => *slot = name,
            None => more_names.push(name),
        }
    }
    let mut more_names = more_names.into_iter();
    let entries: Vec<TraceEntry> = connectors
        .iter()
        .zip(slots.iter_mut())
        .enumerate()
        .map(|(i, (c, slot))| {
            let reason = if slot.first == i {
                match check_eligibility(ctx, c, mode) {
                    Ok(()) => {
                        slot.ok = true;
                        not_chosen.clone()
                    }
                    Err(reason) => reason,
                }
            } else {
                // A repeated id: replaced by its first entry's verdict below.
                not_chosen.clone()
            };
            let connector_name = match names.get_mut(i) {
                Some(name) => std::mem::take(name),
                None => more_names.next().unwrap_or_default(),
            };
            TraceEntry {
                connector_id: c.id,
                connector_name,
                verdict: Verdict::Skipped { reason },
                explanation: String::new(),
            }
        })
        .collect();

    let mut layout = Layout {
        connectors,
        entries,
        path: Vec::with_capacity(cap.min(connectors.len())),
        cap,
        next: 0,
    };
    let source = match matched {
        Some((index, rule)) => {
            rule_steps(rule, &mut slots, &mut layout, roll);
            RouteSource::Rule {
                index: to_u32(index),
                name: rule.name.clone(),
            }
        }
        None => default_steps(&slots, &mut layout, mode, roll),
    };

    let Layout {
        mut entries, path, ..
    } = layout;
    for (i, slot) in slots.iter().enumerate() {
        // A repeated id: same verdict as its first entry (first < i).
        if slot.first != i
            && let Some(verdict) = entries.get(slot.first).map(|e| e.verdict.clone())
            && let Some(entry) = entries.get_mut(i)
        {
            entry.verdict = verdict;
        }
    }
    RouteDecision {
        path,
        trace: RouteTrace { source, entries },
    }
}

/// [`decide`], then [`RouteTrace::fill_explanations`]: the decision with every entry's human
/// text filled in (what the API stores and shows).
pub fn decide_explained(
    ctx: &PaymentContext,
    connectors: &[Connector],
    policy: &Policy,
    mode: Mode,
    roll: f64,
) -> RouteDecision {
    let mut decision = decide(ctx, connectors, policy, mode, roll);
    decision.trace.fill_explanations();
    decision
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
    /// connector (the entries' explanations, in input order; an empty explanation is rendered
    /// from the entry's verdict).
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
                out.push_str("no rule matched; weighted pick with roll ");
                push_unit(&mut out, *roll);
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
        let cap = path_cap(&self.entries);
        for e in &self.entries {
            out.push_str("\n  ");
            if e.explanation.is_empty() {
                write_explanation(&mut out, &e.connector_name, &e.verdict, &self.source, cap);
            } else {
                out.push_str(&e.explanation);
            }
        }
        out
    }

    /// Renders the human [`TraceEntry::explanation`] of every entry whose text is empty (all of
    /// them after [`decide`]) from its structured verdict, the connector name and the source.
    /// Entries that already have a text keep it, so calling it twice is harmless.
    pub fn fill_explanations(&mut self) {
        let cap = path_cap(&self.entries);
        for e in &mut self.entries {
            if e.explanation.is_empty() {
                write_explanation(
                    &mut e.explanation,
                    &e.connector_name,
                    &e.verdict,
                    &self.source,
                    cap,
                );
            }
        }
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
    // `usable_token(ctx, c).is_some()`, in one pass over the tokens.
    let usable = ctx.tokens.iter().any(|t| match &t.scope {
        TokenScope::Connector { connector_id } => *connector_id == c.id,
        TokenScope::Provider { provider } => *provider == c.provider,
        TokenScope::Portable => caps.accepts_portable_tokens,
    });
    if !usable {
        return Err(SkipReason::NoUsableToken);
    }
    Ok(())
}

/// Connector counts up to this are handled in stack buffers; larger ones spill to the heap.
const INLINE: usize = 32;

/// A vector of `Copy` items that keeps its first `N` items on the stack and only allocates when
/// it grows beyond them: the per-decision scratch lists without a heap allocation per call.
struct Small<T, const N: usize> {
    inline: [T; N],
    len: usize,
    heap: Vec<T>,
}

impl<T: Copy + Default, const N: usize> Small<T, N> {
    fn new() -> Self {
        Small {
            inline: [T::default(); N],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn push(&mut self, item: T) {
        if self.len < N
            && let Some(slot) = self.inline.get_mut(self.len)
        {
            *slot = item;
        } else {
            if self.heap.is_empty() {
                self.heap.reserve(N.max(4) * 2);
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(item);
        }
        self.len += 1;
    }
}

impl<T, const N: usize> std::ops::Deref for Small<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        if self.len <= N {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.heap
        }
    }
}

impl<T, const N: usize> std::ops::DerefMut for Small<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        if self.len <= N {
            self.inline.get_mut(..self.len).unwrap_or_default()
        } else {
            &mut self.heap
        }
    }
}

/// Per-connector state of one decision, indexed like the input connectors.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Input index of the first connector with this id (itself unless the id is repeated).
    first: usize,
    /// First entry of its id and eligible: may be routed to.
    ok: bool,
    /// Already listed by the matched rule (a connector listed twice counts once).
    seen: bool,
}

/// One slot per connector, with the first input index of its id.
fn first_indices(connectors: &[Connector]) -> Small<Slot, INLINE> {
    let mut slots = Small::new();
    if connectors.len() <= HASH_MAX {
        // Open addressing over a small stack table of `input index + 1` (0 = empty); the table
        // is at least twice the number of connectors, so probes stay short.
        let mut table = [0u8; HASH_SLOTS];
        for (i, c) in connectors.iter().enumerate() {
            let mut h = id_hash(&c.id);
            let first = loop {
                match table.get(h).copied() {
                    Some(0) | None => {
                        if let (Some(t), Ok(v)) = (table.get_mut(h), u8::try_from(i + 1)) {
                            *t = v;
                        }
                        break i;
                    }
                    Some(v) => {
                        let j = usize::from(v) - 1;
                        if connectors.get(j).is_some_and(|o| o.id == c.id) {
                            break j;
                        }
                        h = (h + 1) % HASH_SLOTS;
                    }
                }
            };
            slots.push(Slot {
                first,
                ..Slot::default()
            });
        }
    } else {
        let mut first_of: BTreeMap<ConnectorId, usize> = BTreeMap::new();
        for (i, c) in connectors.iter().enumerate() {
            let first = *first_of.entry(c.id).or_insert(i);
            slots.push(Slot {
                first,
                ..Slot::default()
            });
        }
    }
    slots
}

/// Size of the stack hash table [`first_indices`] uses for up to [`HASH_MAX`] connectors.
const HASH_SLOTS: usize = 64;
/// Up to this many connectors, repeated ids are found with a stack hash table.
const HASH_MAX: usize = HASH_SLOTS / 2;

/// A slot of the [`first_indices`] table for `id` (any bits mix well enough: ids are UUIDs, and
/// a poor spread only makes the probes longer).
fn id_hash(id: &ConnectorId) -> usize {
    let (hi, lo) = id.0.as_u64_pair();
    let mixed = (hi ^ lo).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top 6 bits: < HASH_SLOTS.
    usize::try_from(mixed >> 58).unwrap_or(0) % HASH_SLOTS
}

/// The trace being laid out: each chosen step takes the next position (or the path cap).
struct Layout<'a> {
    connectors: &'a [Connector],
    entries: Vec<TraceEntry>,
    path: Vec<ConnectorId>,
    cap: usize,
    /// Position of the next step in the uncapped path.
    next: usize,
}

impl Layout<'_> {
    /// Appends connector `index` to the (uncapped) path for `reason`.
    fn step(&mut self, index: usize, reason: SelectReason) {
        let position = self.next;
        self.next += 1;
        let verdict = if position < self.cap {
            if let Some(c) = self.connectors.get(index) {
                self.path.push(c.id);
            }
            Verdict::Selected {
                position: to_u32(position),
                reason,
            }
        } else {
            Verdict::Skipped {
                reason: SkipReason::PathCapReached,
            }
        };
        if let Some(entry) = self.entries.get_mut(index) {
            entry.verdict = verdict;
        }
    }

    /// First input index of `id`, if it is one of the connectors.
    fn index_of(&self, id: &ConnectorId) -> Option<usize> {
        self.connectors.iter().position(|c| c.id == *id)
    }
}

/// A weighted candidate: input index, weight, and its last tie-breaker (input index for the
/// default route, list position for a split rule). Keys are unique, so the order is total.
#[derive(Debug, Clone, Copy, Default)]
struct Weighted {
    index: usize,
    weight: u32,
    /// The connector's `created_seq`.
    seq: i64,
    key: usize,
}

/// Layout order of weighted connectors: descending weight, then `created_seq`, then `key`.
fn sort_weighted(list: &mut [Weighted]) {
    list.sort_unstable_by_key(|w| (Reverse(w.weight), w.seq, w.key));
}

/// Lays out `[lower, upper)` intervals over `list` (already in layout order; weight-0 entries get
/// none) and returns the position in `list` whose interval contains `roll`, with its bounds.
fn weighted_pick(list: &[Weighted], roll: f64) -> Option<(usize, f64, f64)> {
    let total: u64 = list.iter().map(|w| u64::from(w.weight)).sum();
    if total == 0 {
        return None;
    }
    let total_f = total as f64;
    let mut cumulative = 0u64;
    let mut last = None;
    for (k, w) in list.iter().enumerate() {
        if w.weight == 0 {
            continue;
        }
        let lower = cumulative as f64 / total_f;
        cumulative += u64::from(w.weight);
        let upper = cumulative as f64 / total_f;
        if roll < upper {
            return Some((k, lower, upper));
        }
        last = Some((k, lower, upper));
    }
    // Only reachable through rounding at the top end: the last interval takes it.
    last
}

/// The matched rule's steps (eligible ones only, uncapped).
fn rule_steps(rule: &Rule, slots: &mut [Slot], out: &mut Layout<'_>, roll: f64) {
    // Whether listed connector `index` is new to the rule and may be routed to.
    let mut take = |index: usize| match slots.get_mut(index) {
        Some(slot) if !slot.seen => {
            slot.seen = true;
            slot.ok
        }
        Some(_) | None => false,
    };
    match &rule.action {
        RuleAction::Path { connectors } => {
            for (position, id) in connectors.iter().enumerate() {
                if let Some(index) = out.index_of(id)
                    && take(index)
                {
                    out.step(
                        index,
                        SelectReason::RulePath {
                            position: to_u32(position),
                        },
                    );
                }
            }
        }
        RuleAction::Split { weights } => {
            let mut listed: Small<Weighted, INLINE> = Small::new();
            for (position, (id, weight)) in weights.iter().enumerate() {
                if let Some(index) = out.index_of(id)
                    && take(index)
                {
                    listed.push(Weighted {
                        index,
                        weight: *weight,
                        seq: out
                            .connectors
                            .get(index)
                            .map_or(i64::MAX, |c| c.created_seq),
                        key: position,
                    });
                }
            }
            sort_weighted(&mut listed);
            // Weighted pick first, then the rest of the list in order.
            let picked = weighted_pick(&listed, roll);
            if let Some((k, lower, upper)) = picked
                && let Some(w) = listed.get(k)
            {
                out.step(w.index, SelectReason::WeightedPick { lower, upper, roll });
            }
            for (k, w) in listed.iter().enumerate() {
                if Some(k) != picked.map(|(k, _, _)| k) {
                    out.step(w.index, SelectReason::WeightedOrder { weight: w.weight });
                }
            }
        }
    }
}

/// The default route (no rule matched): lays out the uncapped steps and returns the source.
fn default_steps(slots: &[Slot], out: &mut Layout<'_>, mode: Mode, roll: f64) -> RouteSource {
    let ok = |i: usize| slots.get(i).is_some_and(|s| s.ok);
    let primary = out
        .connectors
        .iter()
        .position(|c| c.is_primary && c.mode == mode);
    let primary_ok = primary.is_some_and(ok);
    let mut weighted: Small<Weighted, INLINE> = Small::new();
    for (i, c) in out.connectors.iter().enumerate() {
        if c.weight > 0 && ok(i) {
            weighted.push(Weighted {
                index: i,
                weight: c.weight,
                seq: c.created_seq,
                key: i,
            });
        }
    }
    sort_weighted(&mut weighted);

    if weighted.is_empty() {
        return match primary {
            Some(index) if primary_ok => {
                out.step(index, SelectReason::PrimaryLastResort);
                RouteSource::Primary
            }
            Some(_) | None => RouteSource::NoEligibleConnector,
        };
    }
    // The pick covers every weighted connector (the primary too); the ordered rest leaves the
    // primary out, it goes last.
    let picked = weighted_pick(&weighted, roll);
    let picked_index = picked
        .and_then(|(k, _, _)| weighted.get(k))
        .map(|w| w.index);
    if let (Some((_, lower, upper)), Some(index)) = (picked, picked_index) {
        out.step(index, SelectReason::WeightedPick { lower, upper, roll });
    }
    for w in weighted.iter() {
        if Some(w.index) != picked_index && Some(w.index) != primary {
            out.step(w.index, SelectReason::WeightedOrder { weight: w.weight });
        }
    }
    if let Some(p) = primary
        && primary_ok
        && picked_index != Some(p)
    {
        out.step(p, SelectReason::PrimaryLastResort);
    }
    RouteSource::Weighted { roll }
}

/// The context as the rule conditions read it, with the metadata laid out for quick lookups
/// (built on the first metadata condition, at most once per decision).
struct Facts<'a> {
    ctx: &'a PaymentContext,
    metadata: Option<Small<(&'a str, &'a str), METADATA_SCAN_MAX>>,
}

/// Up to this many metadata keys, a value is found by a scan of a flat list (no tree walk, no
/// ordered string comparisons); more keys use the map's own lookup.
const METADATA_SCAN_MAX: usize = 16;

impl<'a> Facts<'a> {
    fn new(ctx: &'a PaymentContext) -> Self {
        Facts {
            ctx,
            metadata: None,
        }
    }

    /// The metadata value under `key`, if any.
    fn metadata(&mut self, key: &str) -> Option<&'a str> {
        let map = &self.ctx.metadata;
        if map.len() > METADATA_SCAN_MAX {
            return map.get(key).map(String::as_str);
        }
        let flat = self.metadata.get_or_insert_with(|| {
            let mut flat = Small::new();
            for (k, v) in map {
                flat.push((k.as_str(), v.as_str()));
            }
            flat
        });
        flat.iter()
            .find(|(k, _)| bytes_eq(k.as_bytes(), key.as_bytes()))
            .map(|&(_, v)| v)
    }
}

/// Whether every condition of `rule` holds (an empty list matches everything).
fn rule_matches(rule: &Rule, facts: &mut Facts<'_>) -> bool {
    rule.conditions.iter().all(|c| condition_matches(c, facts))
}

/// Evaluates one condition.
fn condition_matches(cond: &Condition, facts: &mut Facts<'_>) -> bool {
    let ctx = facts.ctx;
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
        Condition::Metadata { key, test } => {
            test_equality(test, facts.metadata(key), |a: &String, v: &str| {
                bytes_eq(a.as_bytes(), v.as_bytes())
            })
        }
    }
}

/// Byte equality that compares short slices (metadata keys and values usually are) with a
/// couple of word loads instead of a `memcmp` call.
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    /// `W` bytes of `s` from `at` (zeros when out of range, which the callers never are).
    fn word<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
        s.get(at..at + W)
            .and_then(|w| <[u8; W]>::try_from(w).ok())
            .unwrap_or([0; W])
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two overlapping words cover the whole slice.
        4..=8 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        9..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
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

/// The path cap a trace was laid out with, as far as its texts need it: a connector is only
/// skipped for the cap when the path is full, so the cap is the number of selected positions.
fn path_cap(entries: &[TraceEntry]) -> usize {
    entries
        .iter()
        .filter_map(|e| match e.verdict {
            Verdict::Selected { position, .. } => usize::try_from(position).ok(),
            Verdict::Skipped { .. } => None,
        })
        .max()
        .map_or(1, |p| p.saturating_add(1))
}

/// Appends `x` with 2 to 4 decimals: `0.42`, `0.7` -> `0.70`, `0.6999`.
fn push_unit(out: &mut String, x: f64) {
    let start = out.len();
    let _ = write!(out, "{x:.4}");
    if let Some(dot) = out.get(start..).and_then(|s| s.find('.')) {
        let dot = start + dot;
        while out.ends_with('0') && out.len() - dot > 3 {
            out.pop();
        }
    }
}

/// Appends the human sentence for one entry, e.g.
/// `Stripe EU Backup: selected #1 — rule 1 "EUR to EU" matched`.
fn write_explanation(
    out: &mut String,
    name: &str,
    verdict: &Verdict,
    source: &RouteSource,
    cap: usize,
) {
    // `rule 1 "EUR to EU"` when a rule matched.
    let rule = match source {
        RouteSource::Rule { index, name } => Some((u64::from(*index) + 1, name.as_str())),
        RouteSource::Weighted { .. } | RouteSource::Primary | RouteSource::NoEligibleConnector => {
            None
        }
    };
    match verdict {
        Verdict::Selected { position, reason } => {
            let _ = write!(out, "{name}: selected #{} — ", u64::from(*position) + 1);
            match (reason, rule) {
                (SelectReason::RulePath { position: step }, Some((n, r))) if step == position => {
                    let _ = write!(out, "rule {n} \"{r}\" matched");
                }
                (SelectReason::RulePath { position: step }, Some((n, r))) => {
                    let _ = write!(
                        out,
                        "rule {n} \"{r}\" matched, step {} of its path",
                        u64::from(*step) + 1
                    );
                }
                (SelectReason::RulePath { position: step }, None) => {
                    let _ = write!(out, "step {} of the rule", u64::from(*step) + 1);
                }
                (SelectReason::WeightedPick { lower, upper, roll }, r) => {
                    if let Some((n, r)) = r {
                        let _ = write!(out, "rule {n} \"{r}\" matched; ");
                    }
                    out.push_str("weighted pick: roll ");
                    push_unit(out, *roll);
                    out.push_str(" in [");
                    push_unit(out, *lower);
                    out.push_str(", ");
                    push_unit(out, *upper);
                    out.push(')');
                }
                (SelectReason::WeightedOrder { weight }, Some((n, r))) => {
                    let _ = write!(
                        out,
                        "rule {n} \"{r}\" matched; next by split weight {weight}"
                    );
                }
                (SelectReason::WeightedOrder { weight }, None) => {
                    let _ = write!(out, "next eligible weighted connector (weight {weight})");
                }
                (SelectReason::PrimaryLastResort, _) => out.push_str(match source {
                    RouteSource::Primary => "primary: no weighted connector is eligible",
                    RouteSource::Rule { .. }
                    | RouteSource::Weighted { .. }
                    | RouteSource::NoEligibleConnector => {
                        "primary, last resort of the default route"
                    }
                }),
            }
        }
        Verdict::Skipped { reason } => {
            let _ = write!(out, "{name}: skipped — ");
            match reason {
                SkipReason::Disabled => out.push_str("connector is disabled"),
                SkipReason::OtherMode { connector_mode } => out.push_str(match connector_mode {
                    Mode::Test => "connector is in test mode, the payment is live",
                    Mode::Live => "connector is in live mode, the payment is test",
                }),
                SkipReason::CircuitOpen => out.push_str("circuit open"),
                SkipReason::ProbeBudgetExhausted => {
                    out.push_str("circuit half-open and its probe budget is used up");
                }
                SkipReason::WeightZero => {
                    out.push_str("weight 0 (receives no weighted traffic)");
                }
                SkipReason::CurrencyUnsupported { currency } => {
                    let _ = write!(out, "currency {currency} not supported");
                }
                SkipReason::CountryUnsupported { country } => {
                    let _ = write!(out, "billing country {country} not supported");
                }
                SkipReason::MethodUnsupported { method } => {
                    let _ = write!(out, "payment method {} not supported", method_str(*method));
                }
                SkipReason::CaptureModeUnsupported { capture } => {
                    let _ = write!(out, "capture mode {} not supported", capture_str(*capture));
                }
                SkipReason::NoUsableToken => {
                    let _ = write!(out, "no token usable on {name}");
                }
                SkipReason::NotInMatchedRule => match rule {
                    Some((n, r)) => {
                        let _ = write!(out, "not in matched rule {n} \"{r}\"");
                    }
                    None => out.push_str("not in the matched rule"),
                },
                SkipReason::PathCapReached => {
                    let s = if cap == 1 { "" } else { "s" };
                    let _ = write!(out, "path cap of {cap} provider call{s} reached");
                }
            }
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

/// An owned copy of `s` (built in place rather than through `Clone`, which measured slower here).
fn copy_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    out.push_str(s);
    out
}
