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
  SetWeight,
} from "./bindings";

/** Everything the console can ask the Rust side. Each method rejects with a `CommandError`. */
export interface Backend {
  appInfo(): Promise<AppInfo>;
  listConnectors(): Promise<ConnectorView[]>;
  setConnectorWeight(req: SetWeight): Promise<ConnectorView>;
  searchPayments(search: PaymentSearch): Promise<PaymentSummary[]>;
  getPayment(id: string): Promise<PaymentDetail>;
  auditLog(limit: number): Promise<AuditEntry[]>;
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
};
