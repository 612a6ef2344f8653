import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { CommandError, PaymentDetail } from "../bindings";
import { PaymentDetailView } from "../views/PaymentDetail";
import { attempts, detail, mockBackend, timeline } from "./fixtures";
import { renderWith } from "./render";

describe("Payment detail", () => {
  it("shows one column per attempt with its outcome class, and the trace explanations", async () => {
    const backend = mockBackend();
    renderWith(backend, <PaymentDetailView id={detail.summary.id} onBack={() => {}} />);
    await screen.findByTestId("payment-detail");
    expect(backend.paymentTimeline).toHaveBeenCalledWith(detail.summary.id);

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
    expect(within(screen.getByTestId("timeline")).getByText("processing → captured")).toBeInTheDocument();
  });

  it("lays out more than three attempts as scrollable equal columns", async () => {
    const many: PaymentDetail = {
      ...detail,
      attempts: [0, 1, 2, 3].map((i) => ({ ...attempts[0]!, id: `att-${i}`, seq: i + 1 })),
    };
    renderWith(mockBackend({ paymentTimeline: async () => ({ ...timeline, detail: many, lanes: [] }) }), <PaymentDetailView id="x" onBack={() => {}} />);
    const grid = await screen.findByTestId("attempt-grid");
    expect(screen.getAllByTestId("attempt-column")).toHaveLength(4);
    expect(grid.style.gridAutoFlow).toBe("column");
  });

  it("shows a rule source line", async () => {
    const ruled: PaymentDetail = {
      ...detail,
      route: { ...detail.route, source: { type: "rule", index: 0, name: "EUR to EU" } },
    };
    renderWith(mockBackend({ paymentTimeline: async () => ({ ...timeline, detail: ruled }) }), <PaymentDetailView id="x" onBack={() => {}} />);
    expect(await screen.findByTestId("route-source")).toHaveTextContent('Rule 1 "EUR to EU" matched');
  });

  it("shows not_found in a banner and goes back", async () => {
    const user = userEvent.setup();
    const onBack = vi.fn();
    const backend = mockBackend({
      paymentTimeline: async () => {
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

describe("lanes and charged where / charged twice", () => {
  it("renders the backend's verdict and one lane per attempt plus the payment lane", async () => {
    const backend = mockBackend();
    renderWith(backend, <PaymentDetailView id={detail.summary.id} onBack={() => {}} />);
    const summary = await screen.findByTestId("charge-summary");
    expect(summary).toHaveAttribute("data-charges", "1");
    expect(summary).toHaveAttribute("data-double", "false");
    expect(within(summary).getByTestId("charge-verdict")).toHaveTextContent("Charged once, on Stripe EU Backup (pi_3Q0abc123)");
    expect(within(summary).getByTestId("charge-row")).toHaveTextContent("10.50 EUR");
    const lanes = screen.getAllByTestId("lane");
    expect(lanes.map((l) => l.dataset.lane)).toEqual(["payment", "attempt-1", "attempt-2"]);
    expect(within(lanes[1]!).getAllByTestId("lane-mark").map((m) => m.dataset.kind)).toEqual([
      "request_sent",
      "response",
      "fallback_decision",
    ]);
    // The step lists under the lanes spell every mark out, rejected webhooks included.
    const steps = screen.getAllByTestId("lane-steps");
    expect(steps[2]).toHaveTextContent("webhook rejected: signature_mismatch");
    expect(steps[0]).toHaveTextContent("Square Fallback skipped: no usable token");
  });

  it("warns loudly about a possible double charge", async () => {
    const backend = mockBackend({
      paymentTimeline: async () => ({
        ...timeline,
        charges: {
          ...timeline.charges,
          charged_attempts: 2,
          possible_double_charge: true,
          verdict: "Charged TWICE: on Stripe US Primary (pi_1) and Stripe EU Backup (pi_2)",
        },
      }),
    });
    renderWith(backend, <PaymentDetailView id={detail.summary.id} onBack={() => {}} />);
    const verdict = await screen.findByTestId("charge-verdict");
    expect(verdict).toHaveTextContent("⚠ Charged TWICE");
    expect(verdict).toHaveClass("tone-bad");
  });
});
