// IPC shapes of the issue-4 read models (engine::views, console-backend work). They mirror the
// Rust types field for field (snake_case, *_ms = UTC Unix ms, *_minor = integer minor units);
// once the Rust types are committed their generated bindings (./bindings) replace these.
import type { AttemptView, ConnectorView, OutcomeClass, PaymentDetail, PaymentStatus, PaymentSummary } from "./bindings";

/** Periods the analytics views offer (1 hour to 90 days). */
export type PeriodKey = "1h" | "24h" | "7d" | "30d" | "90d";
export const PERIODS: { key: PeriodKey; label: string; ms: number; chart: ChartPeriod }[] = [
  { key: "1h", label: "1 h", ms: 3_600_000, chart: "hour1" },
  { key: "24h", label: "24 h", ms: 86_400_000, chart: "hours24" },
  { key: "7d", label: "7 d", ms: 7 * 86_400_000, chart: "days7" },
  { key: "30d", label: "30 d", ms: 30 * 86_400_000, chart: "days30" },
  { key: "90d", label: "90 d", ms: 90 * 86_400_000, chart: "days90" },
];

/** `[from, to)` of a period ending now, UTC ms. */
export function periodRange(key: PeriodKey, nowMs: number): { from_ms: number; to_ms: number } {
  const p = PERIODS.find((x) => x.key === key) ?? PERIODS[1]!;
  return { from_ms: nowMs - p.ms, to_ms: nowMs };
}

export type ChartPeriod = "hour1" | "hours6" | "hours24" | "days7" | "days30" | "days90";
export type ChartKind = "approval_rate" | "traffic_share" | "p95_latency";
export type ChartFormat = "svg" | "png";

/** Search filters with keyset pagination; every field optional, filters AND. */
export interface SearchFilter {
  payment_id?: string | null;
  merchant_reference?: string | null;
  provider_reference?: string | null;
  amount_min_minor?: number | null;
  amount_max_minor?: number | null;
  currency?: string | null;
  /** Created at or after, UTC ms. */
  from_ms?: number | null;
  /** Created before, UTC ms (exclusive). */
  to_ms?: number | null;
  status?: PaymentStatus | null;
  connector_id?: string | null;
  outcome?: OutcomeClass | null;
  /** Free text: payment id, provider reference or merchant-reference prefix. */
  query?: string | null;
  cursor?: string | null;
  limit?: number | null;
}

export interface PaymentPage {
  rows: PaymentSummary[];
  next_cursor: string | null;
}

export interface TimelineMark {
  at_ms: number;
  kind: string;
  label: string;
  detail: string;
}

export interface AttemptLane {
  attempt: AttemptView;
  marks: TimelineMark[];
}

export interface ChargeHold {
  attempt_id: string;
  seq: number;
  connector_name: string;
  provider_reference: string | null;
  amount_minor: number;
  /** `charged` or `possibly_charged`. */
  state: string;
}

export interface ChargeSummary {
  holds: ChargeHold[];
  charged_attempts: number;
  possible_double_charge: boolean;
  verdict: string;
}

export interface PaymentTimeline {
  detail: PaymentDetail;
  start_ms: number;
  end_ms: number;
  payment_marks: TimelineMark[];
  lanes: AttemptLane[];
  charges: ChargeSummary;
}

export interface MatrixConnector {
  id: string;
  name: string;
}

export interface MatrixCell {
  connector_id: string;
  observed: number;
  /** Attempts whose payment was later approved on another connector. */
  rescued: number;
  /** The search that lists the payments behind this cell. */
  search: SearchFilter;
}

export interface MatrixRow {
  class: OutcomeClass;
  action: string;
  action_text: string;
  configurable: boolean;
  cells: MatrixCell[];
}

export interface FallbackMatrixView {
  from_ms: number;
  to_ms: number;
  connectors: MatrixConnector[];
  rows: MatrixRow[];
}

export interface ConnectorSeries {
  connector_id: string;
  name: string;
  approval_rate: (number | null)[];
  traffic_share: (number | null)[];
  p95_latency_ms: (number | null)[];
  approved: number[];
  counted: number[];
}

export interface SuccessRateSeries {
  definition: string;
  start_ms: number;
  bucket_ms: number;
  buckets: number;
  connectors: ConnectorSeries[];
}

export interface SuccessRateCharts {
  series: SuccessRateSeries;
  approval_svg: string;
  share_svg: string;
  latency_svg: string;
}

export interface FinanceRow {
  connector_id: string;
  connector_name: string;
  currency: string;
  volume_minor: number;
  volume_display: string;
  approved_count: number;
  calls: number;
  approval_rate: number | null;
}

export interface FinanceTable {
  from_ms: number;
  to_ms: number;
  rows: FinanceRow[];
}

export interface ExportProgress {
  rows_done: number;
  rows_total: number;
}

/** A CSV export as the UI follows it (src-tauri job over the engine's export). */
export interface ExportJob {
  job_id: string;
  progress: ExportProgress;
  finished: boolean;
  path: string | null;
  error: string | null;
}

export interface ConnectorAlert {
  connector_id: string;
  connector_name: string;
  kind: string;
  value: number;
  threshold: number;
  message: string;
}

export interface ConnectorCard {
  connector: ConnectorView;
  calls_5m: number;
  approval_rate_5m: number | null;
  approval_threshold: number;
  failure_rate_5m: number | null;
  failure_threshold: number;
  restore_weight: number | null;
  alerts: ConnectorAlert[];
}

export interface ConnectorAction {
  connector_id: string;
  reason: string;
}

export interface PolicyVersionView {
  id: string;
  version: number;
  status: string;
  json: string;
  note: string;
  created_at_ms: number;
  published_at_ms: number | null;
}

export interface PolicyState {
  mode: string;
  published: PolicyVersionView | null;
  draft: PolicyVersionView | null;
  connectors: MatrixConnector[];
}

export interface PolicyValidation {
  issues: PolicyIssue[];
}

export interface ShareRow {
  connector_id: string;
  name: string;
  payments: number;
  share: number;
}

export interface ChangedPath {
  payment_id: string;
  created_at_ms: number;
  before: string[];
  after: string[];
}

export interface SimulationResult {
  days: number;
  payments: number;
  share_before: ShareRow[];
  share_after: ShareRow[];
  changed_count: number;
  changed: ChangedPath[];
  approach: string;
}

export interface AuditQuery {
  entity?: string | null;
  entity_id?: string | null;
  actor?: string | null;
  from_ms?: number | null;
  to_ms?: number | null;
  before_id?: number | null;
  limit?: number | null;
}

/** A static problem of a policy (routing::PolicyIssue); `rule` is the 0-based rule index. */
export interface PolicyIssue {
  rule: number | null;
  code: string;
  message: string;
}
