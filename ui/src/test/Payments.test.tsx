import { fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import type { PaymentSummary } from "../bindings";
import { Payments, initialPaymentsState, type PaymentsState } from "../views/Payments";
import { mockBackend, summary } from "./fixtures";
import { renderWith } from "./render";

function Harness({ onOpen }: { onOpen: (id: string) => void }) {
  const [state, setState] = useState<PaymentsState>(initialPaymentsState);
  return <Payments state={state} setState={setState} onOpen={onOpen} />;
}

const rows: PaymentSummary[] = Array.from({ length: 50 }, (_, i) => ({
  ...summary,
  id: `p${String(i).padStart(3, "0")}-0000-4000-8000-000000000000`,
  merchant_reference: `order-${i}`,
  status: i % 2 === 0 ? "captured" : "failed",
}));

describe("Payments", () => {
  it("loads the latest payments, searches on Enter and opens with the keyboard", async () => {
    const user = userEvent.setup();
    const onOpen = vi.fn();
    const backend = mockBackend({ searchPayments: async () => rows });
    renderWith(backend, <Harness onOpen={onOpen} />);

    const first = await screen.findAllByTestId("payment-row");
    expect(first.length).toBeGreaterThan(5);
    expect(first.length).toBeLessThan(50); // virtualised
    expect(backend.searchPayments).toHaveBeenCalledWith({ query: "", status: null, limit: 500 });
    expect(first[0]).toHaveTextContent("2026-11-21 09:30:00");
    expect(first[0]).toHaveTextContent("10.50 EUR");

    // "/" focuses the search box.
    fireEvent.keyDown(document.body, { key: "/" });
    const input = screen.getByTestId("search-input");
    expect(input).toHaveFocus();
    await user.type(input, "order-3{Enter}");
    expect(backend.searchPayments).toHaveBeenLastCalledWith({ query: "order-3", status: null, limit: 500 });

    // ArrowDown moves into the list, twice more selects the third row, Enter opens it.
    await user.keyboard("{ArrowDown}{ArrowDown}{ArrowDown}{Enter}");
    expect(onOpen).toHaveBeenCalledWith(rows[2]!.id);
  });

  it("filters by status", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Harness onOpen={() => {}} />);
    await screen.findAllByTestId("payment-row");
    await user.selectOptions(screen.getByTestId("status-filter"), "failed");
    expect(backend.searchPayments).toHaveBeenLastCalledWith({ query: "", status: "failed", limit: 500 });
  });
});
