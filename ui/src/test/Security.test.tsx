import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { Connectors } from "../views/Connectors";
import { PaymentDetailView } from "../views/PaymentDetail";
import { Security, maskedSecret } from "../views/Security";
import { connectors, detail, keyReady, mockBackend } from "./fixtures";
import { renderWith } from "./render";

const names = connectors.map((c) => ({ id: c.id, name: c.name }));

describe("Security (vault)", () => {
  it("shows at most the last 4 characters, and replaces a secret with a reason after confirmation", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Security connectors={names} />);
    const rows = await screen.findAllByTestId("credential-row");
    expect(rows).toHaveLength(connectors.length * 2);
    const us = rows.find((r) => r.dataset.connector === "Stripe US Primary" && r.dataset.field === "api_key")!;
    expect(within(us).getByTestId("masked")).toHaveTextContent("••••4242");

    await user.click(within(us).getByTestId("replace-secret"));
    await user.type(within(us).getByTestId("secret-input"), "sk_test_newsecret9876");
    await user.type(within(us).getByTestId("secret-reason"), "rotated after INC-9");
    await user.click(within(us).getByTestId("save-secret"));
    expect(within(us).getByTestId("confirm-secret")).toBeInTheDocument();
    expect(backend.setCredential).not.toHaveBeenCalled();
    await user.click(within(us).getByTestId("save-secret"));
    expect(backend.setCredential).toHaveBeenCalledWith({
      connector_id: connectors[0]!.id,
      field: "api_key",
      secret: "sk_test_newsecret9876",
      reason: "rotated after INC-9",
    });
    // The secret is gone from the page once saved.
    await waitFor(() => expect(screen.queryByTestId("secret-form")).toBeNull());
    expect(document.body.innerHTML).not.toContain("newsecret");
  });

  it("offers create or import when the master key is missing, and the app shows a banner", async () => {
    const user = userEvent.setup();
    const backend = mockBackend({
      vaultKeyState: async () => ({ ...keyReady, state: "missing", versions: [], message: "no master key in the OS keyring" }),
    });
    renderWith(backend, <App />);
    expect(await screen.findByTestId("key-banner")).toHaveTextContent("no master key in the OS keyring");
    await user.click(screen.getByText("Set it up"));
    const panel = await screen.findByTestId("key-panel");
    await waitFor(() => expect(panel).toHaveAttribute("data-state", "missing"));
    await user.click(within(panel).getByTestId("create-key"));
    expect(backend.vaultCreateKey).toHaveBeenCalled();
    await waitFor(() => expect(panel).toHaveAttribute("data-state", "ready"));
  });

  it("maskedSecret never shows more than 4 characters", () => {
    expect(maskedSecret("abcdef")).toBe("••••cdef");
    expect(maskedSecret("")).toBe("••••");
  });
});

describe("health actions", () => {
  it("forces a circuit open with a reason and a confirmation", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Connectors />);
    const cards = await screen.findAllByTestId("connector-card");
    const eu = cards.find((c) => c.dataset.name === "Stripe EU Backup")!;
    await user.selectOptions(within(eu).getByTestId("circuit-override"), "open");
    await user.type(within(eu).getByTestId("circuit-reason"), "INC-11 EU 5xx");
    await user.click(within(eu).getByTestId("save-circuit"));
    expect(within(eu).getByTestId("confirm-circuit")).toBeInTheDocument();
    expect(backend.forceCircuit).not.toHaveBeenCalled();
    await user.click(within(eu).getByTestId("save-circuit"));
    expect(backend.forceCircuit).toHaveBeenCalledWith({ connector_id: connectors[1]!.id, mode: "open", reason: "INC-11 EU 5xx" });
  });

  it("lists merchant webhook deliveries on the payment and replays one", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <PaymentDetailView id={detail.summary.id} onBack={() => {}} />);
    const row = await screen.findByTestId("merchant-webhook");
    expect(row).toHaveAttribute("data-status", "failed");
    expect(row).toHaveTextContent("500");
    await user.click(within(row).getByTestId("replay-webhook"));
    expect(backend.replayMerchantWebhook).toHaveBeenCalledWith(12);
    expect(await screen.findByTestId("replayed")).toHaveTextContent("Replayed: HTTP 200 in 31 ms.");
    expect(backend.merchantWebhooks).toHaveBeenCalledTimes(2);
  });
});
