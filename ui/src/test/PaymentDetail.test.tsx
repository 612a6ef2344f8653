import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { CommandError, PaymentDetail } from "../bindings";
import { PaymentDetailView } from "../views/PaymentDetail";
import { attempts, detail, mockBackend } from "./fixtures";
import { renderWith } from "./render";

describe("Payment detail", () => {
  it("shows one column per attempt with its outcome class, and the trace explanations", async () => {
    const backend = mockBackend();
    renderWith(backend, <PaymentDetailView id={detail.summary.id} onBack={() => {}} />);
    await screen.findByTestId("payment-detail");
    expect(backend.getPayment).toHaveBeenCalledWith(detail.summary.id);

    const columns = screen.getAllByTestId("attempt-column");
    expect(columns).toHaveLength(2);
    expect(columns.map((c) => c.dataset.outcome)).toEqual(["provider_unavailable", "approved"]);
    expect(within(columns[0]!).getByTestId("outcome-class")).toHaveTextContent("provider unavailable");
    expect(within(columns[1]!).getByTestId("outcome-class")).toHaveTextContent("approved");
    expect(within(columns[0]!).getByText("Stripe US Primary")).toBeInTheDocument();
    expect(within(columns[0]!).getByText("503")).toBeInTheDocument();
    expect(within(columns[0]!).getByText("09:30:00.120")).toBeInTheDocument();
    expect(within(columns[0]!).getByTestId("next-step")).toHaveTextContent("fall back — fell back to Stripe EU Backup");
    expect(within(columns[1]!).getByText("pi_3Q0abc123")).toBeInTheDocument();
    expect(within(columns[1]!).getByText("460 ms")).toBeInTheDocument();

    const trace = screen.getByTestId("route-trace");
    expect(within(trace).getByTestId("route-source")).toHaveTextContent("weighted pick, roll 0.42");
    const explanations = within(trace)
      .getAllByTestId("trace-explanation")
      .map((e) => e.textContent);
    expect(explanations).toEqual(detail.route.entries.map((e) => e.explanation));
    expect(within(trace).getByText("no usable token")).toBeInTheDocument();

    expect(screen.getAllByText("10.50 EUR").length).toBeGreaterThanOrEqual(1);
    expect(screen.getByText("processing → captured")).toBeInTheDocument();
  });

  it("lays out more than three attempts as scrollable equal columns", async () => {
    const many: PaymentDetail = {
      ...detail,
      attempts: [0, 1, 2, 3].map((i) => ({ ...attempts[0]!, id: `att-${i}`, seq: i + 1 })),
    };
    renderWith(mockBackend({ getPayment: async () => many }), <PaymentDetailView id="x" onBack={() => {}} />);
    const grid = await screen.findByTestId("attempt-grid");
    expect(screen.getAllByTestId("attempt-column")).toHaveLength(4);
    expect(grid.style.gridAutoFlow).toBe("column");
  });

  it("shows a rule source line", async () => {
    const ruled: PaymentDetail = {
      ...detail,
      route: { ...detail.route, source: { type: "rule", index: 0, name: "EUR to EU" } },
    };
    renderWith(mockBackend({ getPayment: async () => ruled }), <PaymentDetailView id="x" onBack={() => {}} />);
    expect(await screen.findByTestId("route-source")).toHaveTextContent('Rule 1 "EUR to EU" matched');
  });

  it("shows not_found in a banner and goes back", async () => {
    const user = userEvent.setup();
    const onBack = vi.fn();
    const backend = mockBackend({
      getPayment: async () => {
        throw { code: "not_found", message: "payment not found" } satisfies CommandError;
      },
    });
    renderWith(backend, <PaymentDetailView id="nope" onBack={onBack} />);
    const banner = await screen.findByRole("alert");
    expect(banner).toHaveTextContent("payment not found");
    expect(within(banner).getByTestId("error-code")).toHaveTextContent("not_found");
    await user.click(screen.getByTestId("back-to-payments"));
    expect(onBack).toHaveBeenCalled();
  });
});

describe("charged where / charged twice", async () => {
  const { chargesOf, chargeVerdict, eventKind } = await import("../views/PaymentDetail");
  it("says once and where for a fallback that succeeded", () => {
    const v = chargeVerdict(chargesOf(attempts));
    expect(v.tone).toBe("good");
    expect(v.text).toBe("Charged once, on Stripe EU Backup (pi_3Q0abc123). Not charged twice.");
  });
  it("flags two approved attempts as charged twice, and an unknown one as possible", () => {
    const twice = attempts.map((a) => ({ ...a, status: "succeeded", outcome: "approved" as const, provider_reference: `ref-${a.seq}` }));
    expect(chargeVerdict(chargesOf(twice))).toEqual({
      tone: "bad",
      text: "Charged TWICE: on Stripe US Primary (ref-1) and Stripe EU Backup (ref-2). Refund one of them.",
    });
    const maybe = [{ ...attempts[0]!, status: "unknown", outcome: "unknown_outcome" as const }, attempts[1]!];
    expect(chargeVerdict(chargesOf(maybe)).tone).toBe("warn");
    const reconciled = [{ ...attempts[0]!, status: "unknown", outcome: "unknown_outcome" as const, reconciliation: "not charged: no such payment" }];
    expect(chargesOf(reconciled)[0]!.certainty).toBe("maybe");
    expect(chargeVerdict([]).text).toMatch(/Not charged/);
  });
  it("classifies lane markers", () => {
    const base = { id: 1, at_ms: 0, from_status: null, to_status: null, attempt_id: null, detail: "" };
    expect(eventKind({ ...base, cause: "webhook", kind: "webhook_received" })).toBe("webhook_ok");
    expect(eventKind({ ...base, cause: "webhook", kind: "webhook_rejected" })).toBe("webhook_rejected");
    expect(eventKind({ ...base, cause: "reconciler", kind: "reconciled" })).toBe("reconciler");
    expect(eventKind({ ...base, cause: "api", kind: "merchant_webhook_delivered" })).toBe("merchant_webhook");
  });
  it("renders the summary and one lane per attempt plus the payment lane", async () => {
    const backend = mockBackend();
    renderWith(backend, <PaymentDetailView id={detail.summary.id} onBack={() => {}} />);
    const summary = await screen.findByTestId("charge-summary");
    expect(summary).toHaveAttribute("data-charges", "1");
    expect(within(summary).getByTestId("charge-verdict")).toHaveTextContent("Charged once, on Stripe EU Backup");
    const lanes = screen.getAllByTestId("lane");
    expect(lanes.map((l) => l.dataset.lane)).toEqual(["payment", "attempt-1", "attempt-2"]);
    expect(within(lanes[2]!).getAllByTestId("lane-mark")).toHaveLength(1);
  });
});
