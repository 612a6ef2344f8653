import type { OutcomeClass, PaymentStatus, RouteSource, SelectReason, SkipReason, Verdict } from "./bindings";

function iso(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** `2026-11-21 16:42:05` (UTC). */
export function formatUtc(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  const s = iso(ms);
  return s === null ? "—" : `${s.slice(0, 10)} ${s.slice(11, 19)}`;
}

/** `16:42:05.123` (UTC). */
export function formatClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  const s = iso(ms);
  return s === null ? "—" : s.slice(11, 23);
}

/** `1 234 ms` / `2.4 s`. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms} ms`;
}

/** 0.9734 -> `97.3%`; null -> `—`. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return "—";
  return `${(rate * 100).toFixed(1)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * A short form of a UUID that still tells ids apart: `01a1ffa6…57484df8b013` would be too long,
 * and UUIDv7 ids of one second share their first 8 characters, so keep both ends: `01a1ff…8b013`.
 */
export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-5)}` : id;
}

/** A bucket or period length: `1 h`, `6 h`, `1 d`, `15 min`. */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return formatLatency(ms);
}

/** Minor units with the exponent inferred from a display sample (`"10.50"` -> 2). */
export function formatMinor(minor: number, currency: string, sampleDisplay: string): string {
  const dot = sampleDisplay.indexOf(".");
  const exp = dot < 0 ? 0 : sampleDisplay.length - dot - 1;
  return `${(minor / 10 ** exp).toFixed(exp)} ${currency}`;
}

function trimRoll(roll: number): string {
  return String(Number(roll.toFixed(4)));
}

/** One line saying how the path was chosen. */
export function routeSourceLine(source: RouteSource): string {
  switch (source.type) {
    case "rule":
      return `Rule ${source.index + 1} "${source.name}" matched (weights ignored)`;
    case "weighted":
      return `No rule matched: weighted pick, roll ${trimRoll(source.roll)}`;
    case "primary":
      return "No rule matched and no weighted connector was eligible: primary connector only";
    case "no_eligible_connector":
      return "No eligible connector: the payment failed with no_eligible_connector";
  }
}

export function selectReasonText(r: SelectReason): string {
  switch (r.type) {
    case "rule_path":
      return `rule path step ${r.position + 1}`;
    case "weighted_pick":
      return `weighted pick [${trimRoll(r.lower)}, ${trimRoll(r.upper)}) ∋ ${trimRoll(r.roll)}`;
    case "weighted_order":
      return `weighted order (weight ${r.weight})`;
    case "primary_last_resort":
      return "primary, last resort";
  }
}

export function skipReasonText(r: SkipReason): string {
  switch (r.type) {
    case "disabled":
      return "disabled";
    case "other_mode":
      return `other mode (${r.connector_mode})`;
    case "circuit_open":
      return "circuit open";
    case "probe_budget_exhausted":
      return "probe budget exhausted";
    case "weight_zero":
      return "weight 0";
    case "currency_unsupported":
      return `currency ${r.currency} unsupported`;
    case "country_unsupported":
      return `country ${r.country} unsupported`;
    case "method_unsupported":
      return `method ${r.method} unsupported`;
    case "capture_mode_unsupported":
      return `capture ${r.capture} unsupported`;
    case "no_usable_token":
      return "no usable token";
    case "not_in_matched_rule":
      return "not in matched rule";
    case "path_cap_reached":
      return "path cap reached";
  }
}

export function verdictText(v: Verdict): string {
  return v.verdict === "selected" ? selectReasonText(v.reason) : skipReasonText(v.reason);
}

/** Human labels; `Record<...>` makes a new Rust variant a type error here. */
export const OUTCOME_LABELS: Record<OutcomeClass, string> = {
  approved: "approved",
  hard_decline: "hard decline",
  soft_decline: "soft decline",
  needs_customer_action: "needs customer action",
  validation_error: "validation error",
  auth_config_error: "auth/config error",
  rate_limited: "rate limited",
  provider_unavailable: "provider unavailable",
  unknown_outcome: "unknown outcome",
};

export const STATUS_LABELS: Record<PaymentStatus, string> = {
  processing: "processing",
  requires_action: "requires action",
  authorized: "authorized",
  captured: "captured",
  failed: "failed",
  canceled: "canceled",
  unknown: "unknown",
};

export const PAYMENT_STATUSES = Object.keys(STATUS_LABELS) as PaymentStatus[];

/** `fall_back` -> `fall back`. */
export function humanize(code: string): string {
  return code.replaceAll("_", " ");
}
