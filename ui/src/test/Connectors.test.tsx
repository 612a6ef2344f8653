import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { CommandError } from "../bindings";
import { Connectors, validateWeightForm } from "../views/Connectors";
import type { ConnectorCard } from "../types";
import { cards, connectors, mockBackend } from "./fixtures";
import { renderWith } from "./render";

async function card(name: string): Promise<HTMLElement> {
  const cards = await screen.findAllByTestId("connector-card");
  const found = cards.find((c) => c.dataset.name === name);
  if (!found) throw new Error(`no card ${name}`);
  return found;
}

describe("Connectors", () => {
  it("renders one card per connector with its figures", async () => {
    const backend = mockBackend();
    renderWith(backend, <Connectors />);
    const cards = await screen.findAllByTestId("connector-card");
    expect(cards).toHaveLength(3);
    expect(cards.map((c) => c.dataset.name)).toEqual(["Stripe US Primary", "Stripe EU Backup", "Square Fallback"]);

    const primary = await card("Stripe US Primary");
    expect(within(primary).getByTestId("weight-value")).toHaveTextContent("70");
    expect(within(primary).getByText("PRIMARY")).toBeInTheDocument();
    expect(within(primary).getByText("97.3%")).toBeInTheDocument();
    expect(within(primary).getByText("1,200")).toBeInTheDocument();
    expect(within(primary).getByText("420 ms")).toBeInTheDocument();
    expect(within(primary).getByText("stripe · test")).toBeInTheDocument();

    const square = await card("Square Fallback");
    expect(within(square).queryByText("PRIMARY")).toBeNull();
    expect(within(square).getByText("circuit open")).toBeInTheDocument();
    expect(within(square).getAllByText("—").length).toBeGreaterThan(0);
  });

  it("edits a weight with a reason, rejects an empty reason, then refreshes", async () => {
    const user = userEvent.setup();
    let current: ConnectorCard[] = cards;
    const backend = mockBackend({
      connectorCards: async () => current,
      setConnectorWeight: async (req) => {
        current = current.map((c) => (c.connector.id === req.connector_id ? { ...c, connector: { ...c.connector, weight: req.weight } } : c));
        const updated = current.find((c) => c.connector.id === req.connector_id);
        if (!updated) throw { code: "not_found", message: "connector not found" } satisfies CommandError;
        return updated.connector;
      },
    });
    renderWith(backend, <Connectors />);
    const eu = await card("Stripe EU Backup");

    await user.click(within(eu).getByTestId("edit-weight"));
    const input = within(eu).getByTestId("weight-input");
    await user.clear(input);
    await user.type(input, "10");

    // Empty reason: refused client-side, nothing sent.
    await user.click(within(eu).getByTestId("save-weight"));
    expect(within(eu).getByTestId("form-invalid")).toHaveTextContent(/reason is required/i);
    expect(backend.setConnectorWeight).not.toHaveBeenCalled();

    await user.type(within(eu).getByTestId("reason-input"), "INC-7 shift traffic");
    await user.click(within(eu).getByTestId("save-weight"));
    // A confirmation step first: nothing is sent until it is confirmed.
    expect(within(eu).getByTestId("confirm-weight")).toHaveTextContent("weight 30 → 10");
    expect(backend.setConnectorWeight).not.toHaveBeenCalled();
    await user.click(within(eu).getByTestId("save-weight"));

    expect(backend.setConnectorWeight).toHaveBeenCalledTimes(1);
    expect(backend.setConnectorWeight).toHaveBeenCalledWith({
      connector_id: connectors[1]!.id,
      weight: 10,
      reason: "INC-7 shift traffic",
    });
    await waitFor(() => expect(within(eu).getByTestId("weight-value")).toHaveTextContent("10"));
    expect(within(eu).queryByTestId("weight-input")).toBeNull();
    expect(within(eu).getByRole("status")).toHaveTextContent("Weight set to 10.");
    await waitFor(() => expect(backend.connectorCards.mock.calls.length).toBeGreaterThanOrEqual(2));
  });

  it("drain presets weight 0, requires a reason and a confirmation, then calls drain", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Connectors />);
    const primary = await card("Stripe US Primary");
    await user.click(within(primary).getByTestId("drain"));
    expect(within(primary).getByTestId("weight-input")).toHaveValue(0);
    await user.click(within(primary).getByTestId("save-weight"));
    expect(backend.drainConnector).not.toHaveBeenCalled();
    await user.type(within(primary).getByTestId("reason-input"), "incident");
    await user.click(within(primary).getByTestId("save-weight"));
    expect(within(primary).getByTestId("confirm-weight")).toHaveTextContent("weight 70 → 0");
    expect(backend.drainConnector).not.toHaveBeenCalled();
    await user.click(within(primary).getByTestId("save-weight"));
    expect(backend.drainConnector).toHaveBeenCalledWith({ connector_id: connectors[0]!.id, reason: "incident" });
    expect(backend.setConnectorWeight).not.toHaveBeenCalled();
    await waitFor(() => expect(within(primary).getByTestId("weight-value")).toHaveTextContent("0"));
  });

  it("shows a server error with its code and keeps the form open", async () => {
    const user = userEvent.setup();
    const backend = mockBackend({
      setConnectorWeight: async () => {
        throw { code: "invalid_weight", message: "weight must be between 0 and 1000" } satisfies CommandError;
      },
    });
    renderWith(backend, <Connectors />);
    const eu = await card("Stripe EU Backup");
    await user.click(within(eu).getByTestId("edit-weight"));
    await user.type(within(eu).getByTestId("reason-input"), "testing errors");
    await user.click(within(eu).getByTestId("save-weight"));
    await user.click(within(eu).getByTestId("save-weight"));
    const banner = await within(eu).findByRole("alert");
    expect(banner).toHaveTextContent("weight must be between 0 and 1000");
    expect(within(banner).getByTestId("error-code")).toHaveTextContent("invalid_weight");
    expect(within(eu).getByTestId("weight-input")).toBeInTheDocument();
  });

  it("restores a drained connector to its weight before the drain, shows the audit entry on the card", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Connectors />);
    const square = await card("Square Fallback");
    // The fixture audit row drained Square Fallback from 20 to 0 with a reason.
    expect(within(square).getByTestId("card-audit")).toHaveTextContent("weight: 20 → 0");
    expect(within(square).getByTestId("card-audit")).toHaveTextContent("INC-42 Square 5xx");
    await user.click(within(square).getByTestId("restore"));
    expect(within(square).getByTestId("weight-input")).toHaveValue(20);
    await user.type(within(square).getByTestId("reason-input"), "INC-42 resolved");
    await user.click(within(square).getByTestId("save-weight"));
    await user.click(within(square).getByTestId("save-weight"));
    expect(backend.restoreConnector).toHaveBeenCalledWith({ connector_id: connectors[2]!.id, reason: "INC-42 resolved" });
  });

  it("sends one OS notification per new alert, shows it on the card, and again after it clears and returns", async () => {
    const alert = {
      connector_id: connectors[1]!.id,
      connector_name: "Stripe EU Backup",
      kind: "approval_rate_low",
      value: 0.5,
      threshold: 0.8,
      message: "Stripe EU Backup: approval rate 50.0% in the last 5 minutes is below 80.0%",
    };
    let alerting = true;
    const backend = mockBackend({
      connectorCards: async () => cards.map((c, i) => (i === 1 && alerting ? { ...c, alerts: [alert] } : c)),
    });
    const user = userEvent.setup();
    renderWith(backend, <Connectors />);
    const eu = await card("Stripe EU Backup");
    await waitFor(() => expect(backend.notify).toHaveBeenCalledTimes(1));
    expect(backend.notify).toHaveBeenCalledWith("Switchboard: Stripe EU Backup", alert.message);
    expect(within(eu).getByTestId("connector-alert")).toHaveTextContent("approval rate 50.0%");

    const refresh = async (n: number) => {
      await user.click(screen.getByText("Refresh"));
      await waitFor(() => expect(backend.connectorCards.mock.calls.length).toBeGreaterThanOrEqual(n));
    };
    await refresh(2); // still alerting: no second notification
    expect(backend.notify).toHaveBeenCalledTimes(1);
    alerting = false;
    await refresh(3);
    alerting = true;
    await refresh(4);
    await waitFor(() => expect(backend.notify).toHaveBeenCalledTimes(2));
  });

  it("validates weight and reason", () => {
    expect(validateWeightForm("10", "ok reason")).toBeNull();
    expect(validateWeightForm("", "ok reason")).toMatch(/whole number/);
    expect(validateWeightForm("1001", "ok reason")).toMatch(/whole number/);
    expect(validateWeightForm("-1", "ok reason")).toMatch(/whole number/);
    expect(validateWeightForm("2.5", "ok reason")).toMatch(/whole number/);
    expect(validateWeightForm("5", "   ")).toMatch(/reason is required/i);
    expect(validateWeightForm("5", "ab")).toMatch(/at least 3/);
  });
});
