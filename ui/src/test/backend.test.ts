import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

const { tauriBackend, toCommandError } = await import("../backend");

describe("backend", () => {
  beforeEach(() => invoke.mockReset());

  it("calls the Rust commands with their argument names", async () => {
    invoke.mockResolvedValue([]);
    await tauriBackend.listConnectors();
    await tauriBackend.setConnectorWeight({ connector_id: "c1", weight: 5, reason: "why not" });
    await tauriBackend.searchPayments({ query: "q", status: null, limit: 10 });
    await tauriBackend.getPayment("p1");
    await tauriBackend.auditLog(100);
    await tauriBackend.appInfo();
    expect(invoke.mock.calls).toEqual([
      ["list_connectors", undefined],
      ["set_connector_weight", { req: { connector_id: "c1", weight: 5, reason: "why not" } }],
      ["search_payments", { search: { query: "q", status: null, limit: 10 } }],
      ["get_payment", { id: "p1" }],
      ["audit_log", { limit: 100 }],
      ["app_info", undefined],
    ]);
  });

  it("turns every rejection into a CommandError", async () => {
    invoke.mockRejectedValueOnce({ code: "not_found", message: "payment not found" });
    await expect(tauriBackend.getPayment("x")).rejects.toEqual({ code: "not_found", message: "payment not found" });
    invoke.mockRejectedValueOnce("command get_payment not found");
    await expect(tauriBackend.getPayment("x")).rejects.toEqual({
      code: "ipc_error",
      message: "command get_payment not found",
    });
    expect(toCommandError(new Error("boom"))).toEqual({ code: "ipc_error", message: "boom" });
    expect(toCommandError(42).code).toBe("ipc_error");
  });

  it("is the only module importing @tauri-apps/api", () => {
    const root = join(process.cwd(), "src");
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name)) {
          const rel = relative(root, path);
          if (rel !== "backend.ts" && /from\s+["']@tauri-apps\/api/.test(readFileSync(path, "utf8"))) offenders.push(rel);
        }
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});
