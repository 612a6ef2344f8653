// IPC shapes of the views whose Rust read models are being built (engine::console by the
// console-backend work). They mirror the Rust types field for field (snake_case, *_ms = UTC
// Unix milliseconds, *_minor = integer minor units); when the Rust type lands, its generated
// binding in ./bindings replaces the definition here.
import type { AuditEntry, OutcomeClass, PaymentStatus, PaymentSummary, RouteTrace } from "./bindings";

/** Periods the analytics views offer (1 hour to 90 days). */
export type PeriodKey = "1h" | "24h" | "7d" | "30d" | "90d";
export const PERIODS: { key: PeriodKey; label: string; ms: number }[] = [
  { key: "1h", label: "1 h", ms: 3_600_000 },
  { key: "24h", label: "24 h", ms: 86_400_000 },
  { key: "7d", label: "7 d", ms: 7 * 86_400_000 },
  { key: "30d", label: "30 d", ms: 30 * 86_400_000 },
  { key: "90d", label: "90 d", ms: 90 * 86_400_000 },
];

/** Payment search with filters; `after` is the keyset cursor of the previous page. */
export interface PaymentQuery {
  text: string;
  amount_minor: number | null;
  currency: string | null;
  from_ms: number | null;
  to_ms: number | null;
  status: PaymentStatus | null;
  connector_id: string | null;
  outcome: OutcomeClass | null;
  after: string | null;
  limit: number;
}

/** One page of search results; `next` is null on the last page. */
export interface PaymentPage {
  rows: PaymentSummary[];
  next: string | null;
}

/** One cell of the fallback matrix (outcome class x connector). */
export interface MatrixCell {
  class: OutcomeClass;
  connector_id: string;
  /** Attempts of this class on this connector in the period. */
  observed: number;
  /** What the published policy does after this class (`fall_back`, `stop`, `retry`, `reconcile`…). */
  policy_action: string;
  /** Of those payments, how many finally succeeded on another connector. */
  succeeded_elsewhere: number;
}

export interface FallbackMatrix {
  from_ms: number;
  to_ms: number;
  classes: OutcomeClass[];
  connectors: { id: string; name: string }[];
  cells: MatrixCell[];
}

/** Per-connector figures next to the chart. */
export interface ChartSeries {
  connector_id: string;
  name: string;
  attempts: number;
  approval_rate: number | null;
  traffic_share: number;
  p95_latency_ms: number | null;
}

export interface SuccessChart {
  /** SVG rendered in Rust (plotters). */
  svg: string;
  /** The approval-rate definition shown under the chart. */
  definition: string;
  series: ChartSeries[];
  from_ms: number;
  to_ms: number;
}

/** Finance: one connector account x currency. */
export interface FinanceRow {
  connector_id: string;
  connector_name: string;
  currency: string;
  count: number;
  approved_count: number;
  volume_minor: number;
  volume_display: string;
  approval_rate: number | null;
}

/** A long-running export (CSV, chart). */
export interface ExportStatus {
  job_id: string;
  done_rows: number;
  total_rows: number | null;
  finished: boolean;
  /** Where the file is (absolute path) once finished. */
  path: string | null;
  error: string | null;
}

/** A static problem of a policy (routing::PolicyIssue); `rule` is the 0-based rule index. */
export interface PolicyIssue {
  rule: number | null;
  code: string;
  message: string;
}

export interface PolicyState {
  published_version: number | null;
  published_json: string;
  published_note: string | null;
  draft_json: string;
  connectors: { id: string; name: string }[];
}

export interface SimulationShare {
  connector_name: string;
  before: number;
  after: number;
}

export interface SimulationChange {
  payment_id: string;
  created_at_ms: number;
  old_path: string[];
  new_path: string[];
}

export interface Simulation {
  days: number;
  payments: number;
  shares: SimulationShare[];
  changed_count: number;
  changed: SimulationChange[];
}

export type { AuditEntry, RouteTrace };
