// The ONLY module that talks to Tauri. Components get a `Backend` from React context
// (see context.tsx), so tests pass a mock and nothing else imports @tauri-apps/api.
import { invoke } from "@tauri-apps/api/core";
import type {
  AppInfo,
  AuditEntry,
  CommandError,
  ConnectorView,
  PaymentDetail,
  PaymentSearch,
  PaymentSummary,
  RouteTrace,
  SetWeight,
} from "./bindings";
import type {
  ExportStatus,
  FallbackMatrix,
  FinanceRow,
  PaymentPage,
  PaymentQuery,
  PeriodKey,
  PolicyIssue,
  PolicyState,
  Simulation,
  SuccessChart,
} from "./types";

/** Everything the console can ask the Rust side. Each method rejects with a `CommandError`. */
export interface Backend {
  appInfo(): Promise<AppInfo>;
  listConnectors(): Promise<ConnectorView[]>;
  setConnectorWeight(req: SetWeight): Promise<ConnectorView>;
  searchPayments(search: PaymentSearch): Promise<PaymentSummary[]>;
  getPayment(id: string): Promise<PaymentDetail>;
  auditLog(limit: number): Promise<AuditEntry[]>;
  /** One keyset page of payments matching the filters. */
  searchPage(query: PaymentQuery): Promise<PaymentPage>;
  fallbackMatrix(period: PeriodKey): Promise<FallbackMatrix>;
  successChart(period: PeriodKey, width: number, height: number): Promise<SuccessChart>;
  /** Writes the chart as SVG or PNG; `path` null = the downloads directory. Resolves to the path written. */
  exportChart(period: PeriodKey, format: "svg" | "png", path: string | null): Promise<string>;
  finance(period: PeriodKey): Promise<FinanceRow[]>;
  /** Starts a CSV export; poll `exportStatus` with the returned job. */
  startFinanceExport(period: PeriodKey, path: string | null): Promise<ExportStatus>;
  exportStatus(jobId: string): Promise<ExportStatus>;
  policyState(): Promise<PolicyState>;
  validatePolicy(json: string): Promise<PolicyIssue[]>;
  simulatePolicy(json: string, days: number): Promise<Simulation>;
  publishPolicy(json: string, note: string): Promise<PolicyState>;
  /** Dry-run route decision for a hand-typed payment context (JSON). */
  explainRoute(contextJson: string, policyJson: string | null): Promise<RouteTrace>;
  /** An OS notification (tauri-plugin-notification). */
  notify(title: string, body: string): Promise<void>;
}

function isCommandError(e: unknown): e is CommandError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}

/** Whatever a call rejected with, as a `CommandError` the UI can show. */
export function toCommandError(e: unknown): CommandError {
  if (isCommandError(e)) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: "ipc_error", message: e.message };
  if (typeof e === "string") return { code: "ipc_error", message: e };
  return { code: "ipc_error", message: "unexpected error from the console backend" };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toCommandError(e);
  }
}

/** The real backend: Tauri IPC to the commands in src-tauri/src/commands.rs. */
export const tauriBackend: Backend = {
  appInfo: () => call<AppInfo>("app_info"),
  listConnectors: () => call<ConnectorView[]>("list_connectors"),
  setConnectorWeight: (req) => call<ConnectorView>("set_connector_weight", { req }),
  searchPayments: (search) => call<PaymentSummary[]>("search_payments", { search }),
  getPayment: (id) => call<PaymentDetail>("get_payment", { id }),
  auditLog: (limit) => call<AuditEntry[]>("audit_log", { limit }),
  searchPage: (query) => call<PaymentPage>("search_payments_page", { query }),
  fallbackMatrix: (period) => call<FallbackMatrix>("fallback_matrix", { period }),
  successChart: (period, width, height) => call<SuccessChart>("success_chart", { period, width, height }),
  exportChart: (period, format, path) => call<string>("export_chart", { period, format, path }),
  finance: (period) => call<FinanceRow[]>("finance", { period }),
  startFinanceExport: (period, path) => call<ExportStatus>("start_finance_export", { period, path }),
  exportStatus: (jobId) => call<ExportStatus>("export_status", { jobId }),
  policyState: () => call<PolicyState>("policy_state"),
  validatePolicy: (json) => call<PolicyIssue[]>("validate_policy", { json }),
  simulatePolicy: (json, days) => call<Simulation>("simulate_policy", { json, days }),
  publishPolicy: (json, note) => call<PolicyState>("publish_policy", { json, note }),
  explainRoute: (contextJson, policyJson) => call<RouteTrace>("explain_route", { contextJson, policyJson }),
  notify: (title, body) => call<void>("notify", { title, body }),
};
