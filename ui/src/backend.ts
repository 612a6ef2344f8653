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
  ChartFormat,
  ChartKind,
  ConnectorAction,
  ConnectorCard,
  ExportJob,
  FallbackMatrixView,
  FinanceTable,
  PaymentPage,
  PaymentTimeline,
  PeriodKey,
  PolicyState,
  PolicyValidation,
  SearchFilter,
  SimulationResult,
  SuccessRateCharts,
} from "./types";
import type {
  CircuitView,
  CredentialView,
  ForceCircuit,
  KeySetupState,
  MerchantWebhookView,
  RotationReport,
  SetCredential,
  WebhookDeliveryView,
} from "./bindings";

/** Everything the console can ask the Rust side. Each method rejects with a `CommandError`. */
export interface Backend {
  appInfo(): Promise<AppInfo>;
  listConnectors(): Promise<ConnectorView[]>;
  setConnectorWeight(req: SetWeight): Promise<ConnectorView>;
  searchPayments(search: PaymentSearch): Promise<PaymentSummary[]>;
  getPayment(id: string): Promise<PaymentDetail>;
  auditLog(limit: number): Promise<AuditEntry[]>;
  /** One keyset page of payments matching the filters (newest first). */
  searchPage(filter: SearchFilter): Promise<PaymentPage>;
  /** A payment's lanes on one time axis, and who holds the money. */
  paymentTimeline(id: string): Promise<PaymentTimeline>;
  fallbackMatrix(period: PeriodKey): Promise<FallbackMatrixView>;
  successCharts(period: PeriodKey): Promise<SuccessRateCharts>;
  /** Writes a chart as SVG or PNG; `path` null = the downloads directory. Resolves to the file written. */
  exportChart(period: PeriodKey, kind: ChartKind, format: ChartFormat, path: string | null): Promise<string>;
  finance(period: PeriodKey): Promise<FinanceTable>;
  /** Starts a CSV export; poll `exportStatus` with the returned job id. */
  startFinanceExport(period: PeriodKey, path: string | null): Promise<ExportJob>;
  exportStatus(jobId: string): Promise<ExportJob>;
  /** Live connector cards (5-minute figures, thresholds, alerts, restore weight). */
  connectorCards(): Promise<ConnectorCard[]>;
  drainConnector(action: ConnectorAction): Promise<ConnectorCard>;
  restoreConnector(action: ConnectorAction): Promise<ConnectorCard>;
  policyState(): Promise<PolicyState>;
  validatePolicy(json: string): Promise<PolicyValidation>;
  simulatePolicy(json: string, days: number): Promise<SimulationResult>;
  publishPolicy(json: string, note: string): Promise<PolicyState>;
  /** Dry-run route decision for a hand-typed payment context (JSON), with `policyJson` or the published policy. */
  explainRoute(contextJson: string, policyJson: string | null): Promise<RouteTrace>;
  /** Circuit-breaker state of every connector. */
  circuits(): Promise<CircuitView[]>;
  /** Force a circuit `open`/`closed`, or `auto` to release, with an audited reason. */
  forceCircuit(req: ForceCircuit): Promise<CircuitView>;
  merchantWebhooks(paymentId: string): Promise<MerchantWebhookView[]>;
  replayMerchantWebhook(outboxId: number): Promise<WebhookDeliveryView>;
  vaultKeyState(): Promise<KeySetupState>;
  vaultCreateKey(): Promise<KeySetupState>;
  /** Imports a master key; the text is never echoed back. */
  vaultImportKey(text: string): Promise<KeySetupState>;
  /** Stored secrets: at most the last 4 characters of each. */
  listCredentials(): Promise<CredentialView[]>;
  setCredential(req: SetCredential): Promise<CredentialView>;
  rotateMasterKey(): Promise<RotationReport>;
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
  searchPage: (filter) => call<PaymentPage>("search_page", { filter }),
  paymentTimeline: (id) => call<PaymentTimeline>("payment_timeline", { id }),
  fallbackMatrix: (period) => call<FallbackMatrixView>("fallback_matrix", { period }),
  successCharts: (period) => call<SuccessRateCharts>("success_charts", { period }),
  exportChart: (period, kind, format, path) => call<string>("export_chart", { period, kind, format, path }),
  finance: (period) => call<FinanceTable>("finance", { period }),
  startFinanceExport: (period, path) => call<ExportJob>("start_finance_export", { period, path }),
  exportStatus: (jobId) => call<ExportJob>("export_status", { jobId }),
  connectorCards: () => call<ConnectorCard[]>("connector_cards"),
  drainConnector: (action) => call<ConnectorCard>("drain_connector", { action }),
  restoreConnector: (action) => call<ConnectorCard>("restore_connector", { action }),
  policyState: () => call<PolicyState>("policy_state"),
  validatePolicy: (json) => call<PolicyValidation>("validate_policy", { json }),
  simulatePolicy: (json, days) => call<SimulationResult>("simulate_policy", { json, days }),
  publishPolicy: (json, note) => call<PolicyState>("publish_policy", { json, note }),
  explainRoute: (contextJson, policyJson) => call<RouteTrace>("explain_route", { contextJson, policyJson }),
  circuits: () => call<CircuitView[]>("circuits"),
  forceCircuit: (req) => call<CircuitView>("force_circuit", { req }),
  merchantWebhooks: (paymentId) => call<MerchantWebhookView[]>("merchant_webhooks", { id: paymentId }),
  replayMerchantWebhook: (outboxId) => call<WebhookDeliveryView>("replay_merchant_webhook", { outboxId }),
  vaultKeyState: () => call<KeySetupState>("vault_key_state"),
  vaultCreateKey: () => call<KeySetupState>("vault_create_key"),
  vaultImportKey: (text) => call<KeySetupState>("vault_import_key", { text }),
  listCredentials: () => call<CredentialView[]>("list_credentials"),
  setCredential: (req) => call<CredentialView>("set_credential", { req }),
  rotateMasterKey: () => call<RotationReport>("rotate_master_key"),
  notify: (title, body) => call<void>("notify", { title, body }),
};
