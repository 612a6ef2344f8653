import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { AppInfo, CommandError } from "../bindings";
import { App } from "../App";
import { appInfo, mockBackend } from "./fixtures";
import { renderWith } from "./render";

describe("App", () => {
  it("shows a backend error in a red banner with its code, not a blank screen", async () => {
    const backend = mockBackend({
      connectorCards: async () => {
        throw { code: "database_unavailable", message: "the database is unavailable or refused the request" } satisfies CommandError;
      },
    });
    renderWith(backend, <App />);
    const banner = await screen.findByRole("alert");
    expect(banner).toHaveTextContent("the database is unavailable or refused the request");
    expect(within(banner).getByTestId("error-code")).toHaveTextContent("database_unavailable");
    expect(screen.getByTestId("app-info")).toHaveTextContent("Acme Shop");
  });

  it("shows why the console is not connected when app_info carries an error", async () => {
    const notReady: AppInfo = {
      ...appInfo,
      ready: false,
      merchant_id: null,
      merchant_name: null,
      database: null,
      error: { code: "database_url_missing", message: "DATABASE_URL is not set." },
    };
    const user = userEvent.setup();
    const backend = mockBackend({ appInfo: async () => notReady });
    renderWith(backend, <App />);
    const banner = await screen.findByRole("alert");
    expect(banner).toHaveTextContent("DATABASE_URL is not set.");
    expect(within(banner).getByTestId("error-code")).toHaveTextContent("database_url_missing");
    expect(screen.getByText("The console is not connected")).toBeInTheDocument();
    expect(backend.listConnectors).not.toHaveBeenCalled();
    expect(backend.connectorCards).not.toHaveBeenCalled();

    await user.click(screen.getByText("Retry connection"));
    expect(backend.appInfo).toHaveBeenCalledTimes(2);
  });

  it("shows an IPC failure of app_info itself", async () => {
    const backend = mockBackend({
      appInfo: async () => {
        throw new Error("window.__TAURI_INTERNALS__ is undefined");
      },
    });
    renderWith(backend, <App />);
    const banner = await screen.findByRole("alert");
    expect(within(banner).getByTestId("error-code")).toHaveTextContent("ipc_error");
  });

  it("navigates to payments, opens a payment and comes back", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <App />);
    await screen.findAllByTestId("connector-card");
    await user.click(screen.getByTestId("nav-payments"));
    const row = await screen.findByTestId("payment-row");
    await user.click(row);
    expect(await screen.findByTestId("payment-detail")).toBeInTheDocument();
    expect(screen.getAllByTestId("attempt-column")).toHaveLength(2);
    await user.click(screen.getByTestId("back-to-payments"));
    expect(await screen.findByTestId("payment-row")).toBeInTheDocument();
    // The list was kept: no second search on return.
    expect(backend.searchPage).toHaveBeenCalledTimes(1);

    await user.click(screen.getByTestId("nav-audit"));
    const auditRow = await screen.findByTestId("audit-row");
    expect(auditRow).toHaveTextContent("INC-42 Square 5xx");
    expect(auditRow).toHaveTextContent("weight: 20 → 0");
  });
});

describe("audit change summary", async () => {
  const { changeSummary } = await import("../views/Audit");
  it("summarises updates, creations and raw values", () => {
    expect(changeSummary('{"weight":20,"updated_at":"a"}', '{"weight":0,"updated_at":"b"}')).toEqual(["weight: 20 → 0"]);
    expect(changeSummary("", '{"name":"Stripe","weight":5,"created_at":"x","id":"c1"}')).toEqual([
      "+ name: Stripe",
      "+ weight: 5",
    ]);
    expect(changeSummary('{"name":"Old"}', "null")).toEqual(["- name: Old"]);
    expect(changeSummary("1", "2")).toEqual(["1 → 2"]);
  });
});

describe("audit filters", async () => {
  const { filterAudit } = await import("../views/Audit");
  const { audit } = await import("./fixtures");
  it("filters by actor, entity, text and UTC day", () => {
    const none = { actor: "", entity: "", text: "", from: "", to: "" };
    expect(filterAudit(audit, none)).toHaveLength(1);
    expect(filterAudit(audit, { ...none, actor: "ANA" })).toHaveLength(1);
    expect(filterAudit(audit, { ...none, actor: "bob" })).toHaveLength(0);
    expect(filterAudit(audit, { ...none, entity: "policy" })).toHaveLength(0);
    expect(filterAudit(audit, { ...none, text: "inc-42" })).toHaveLength(1);
    expect(filterAudit(audit, { ...none, from: "2026-11-21", to: "2026-11-21" })).toHaveLength(1);
    expect(filterAudit(audit, { ...none, from: "2026-11-22" })).toHaveLength(0);
  });
});
