// Plain functions over the routing policy JSON (routing::Policy, serde shape) used by the
// Policies editor: parse, the form's edits, and a line diff. No React here.

export type Op = "eq" | "ne" | "in" | "not_in" | "lt" | "lte" | "gt" | "gte" | "between";
export const OPS: Op[] = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between"];
export const FIELDS = ["currency", "amount", "country", "payment_method", "card_brand", "capture_mode", "metadata"] as const;
export type Field = (typeof FIELDS)[number];

export interface Condition {
  field: Field;
  op: Op;
  value: unknown;
  key?: string;
}

export type RuleAction =
  | { type: "path"; connectors: string[] }
  | { type: "split"; weights: [string, number][] };

export interface Rule {
  name: string;
  conditions: Condition[];
  action: RuleAction;
}

export interface Policy {
  rules: Rule[];
  fallback?: unknown;
  max_attempts?: number;
  [other: string]: unknown;
}

/** Parses policy JSON; `Err` carries a sentence for the editor. */
export function parsePolicy(json: string): { ok: true; policy: Policy } | { ok: false; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { ok: false, error: "A policy is a JSON object." };
  const p = v as Policy;
  if (p.rules === undefined) p.rules = [];
  if (!Array.isArray(p.rules)) return { ok: false, error: "`rules` must be a list." };
  return { ok: true, policy: p };
}

export function toJson(p: Policy): string {
  return JSON.stringify(p, null, 2);
}

/** The value of a condition as the form shows it: lists comma-separated, ranges "a..b". */
export function valueText(c: Condition): string {
  if (c.op === "between" && Array.isArray(c.value)) return `${String(c.value[0])}..${String(c.value[1])}`;
  if (Array.isArray(c.value)) return c.value.map(String).join(", ");
  return c.value === undefined || c.value === null ? "" : String(c.value);
}

/** Parses what the form typed into the value the JSON expects for `field`/`op`. */
export function parseValue(field: Field, op: Op, text: string): unknown {
  const one = (s: string): unknown => {
    const t = s.trim();
    if (field === "amount") return /^-?\d+$/.test(t) ? Number(t) : t;
    if (field === "currency" || field === "country") return t.toUpperCase();
    if (field === "card_brand") return t.toLowerCase();
    return t;
  };
  if (op === "in" || op === "not_in") {
    return text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map(one);
  }
  if (op === "between") {
    const [a, b] = text.split("..");
    return [one(a ?? ""), one(b ?? "")];
  }
  return one(text);
}

export function newRule(connectorId: string | undefined): Rule {
  return { name: "New rule", conditions: [], action: { type: "path", connectors: connectorId ? [connectorId] : [] } };
}

export type DiffLine = { kind: "same" | "add" | "del"; text: string };

/** Line diff (longest common subsequence) of `a` (published) -> `b` (draft). */
export function lineDiff(a: string, b: string): DiffLine[] {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ kind: "same", text: x[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      out.push({ kind: "del", text: x[i]! });
      i++;
    } else {
      out.push({ kind: "add", text: y[j]! });
      j++;
    }
  }
  while (i < n) out.push({ kind: "del", text: x[i++]! });
  while (j < m) out.push({ kind: "add", text: y[j++]! });
  return out;
}
