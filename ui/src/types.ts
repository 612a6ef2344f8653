// Issue-4 IPC types come from the generated bindings (engine::views and src-tauri, via ts-rs);
// this module re-exports them and adds the UI's period list.
import type { Period } from "./bindings";

export type {
  AttemptLane,
  ChangedPath,
  ChargeHold,
  ChargeSummary,
  ChartFormat,
  ChartKind,
  ConnectorAction,
  ConnectorAlert,
  ConnectorCard,
  ConnectorSeries,
  ExportJob,
  ExportProgress,
  FallbackMatrixView,
  FinanceRow,
  FinanceTable,
  MatrixCell,
  MatrixConnector,
  MatrixRow,
  PaymentPage,
  PaymentTimeline,
  PolicyIssue,
  PolicyState,
  PolicyValidation,
  PolicyVersionView,
  SearchFilter,
  ShareRow,
  SimulationResult,
  SuccessRateCharts,
  SuccessRateSeries,
  TimelineMark,
} from "./bindings";

/** Periods the analytics views offer (1 hour to 90 days); the Rust `Period`. */
export type PeriodKey = Period;
export const PERIODS: { key: PeriodKey; label: string }[] = [
  { key: "1h", label: "1 h" },
  { key: "24h", label: "24 h" },
  { key: "7d", label: "7 d" },
  { key: "30d", label: "30 d" },
  { key: "90d", label: "90 d" },
];
