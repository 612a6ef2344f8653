import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import type { PaymentSummary } from "../bindings";
import { PAGE_SIZE, Payments, initialPaymentsState, type PaymentsState } from "../views/Payments";
import { mockBackend, summary } from "./fixtures";
import { renderWith } from "./render";

function Harness({ onOpen }: { onOpen: (id: string) => void }) {
  const [state, setState] = useState<PaymentsState>(initialPaymentsState);
  return (
    <Payments
      state={state}
      setState={setState}
      onOpen={onOpen}
      connectors={[{ id: "c0000000-0000-4000-8000-000000000003", name: "Square Fallback" }]}
    />
  );
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
    const backend = mockBackend({ searchPage: async () => ({ rows, next_cursor: null }) });
    renderWith(backend, <Harness onOpen={onOpen} />);

    const first = await screen.findAllByTestId("payment-row");
    expect(first.length).toBeGreaterThan(5);
    expect(first.length).toBeLessThan(50); // virtualised
    expect(backend.searchPage).toHaveBeenCalledWith({ limit: PAGE_SIZE });
    expect(first[0]).toHaveTextContent("2026-11-21 09:30:00");
    expect(first[0]).toHaveTextContent("10.50 EUR");

    // "/" focuses the search box; so does Ctrl+K.
    fireEvent.keyDown(document.body, { key: "/" });
    const input = screen.getByTestId("search-input");
    expect(input).toHaveFocus();
    input.blur();
    fireEvent.keyDown(document.body, { key: "k", ctrlKey: true });
    expect(input).toHaveFocus();
    await user.type(input, "order-3{Enter}");
    expect(backend.searchPage).toHaveBeenLastCalledWith({ query: "order-3", limit: PAGE_SIZE });

    // ArrowDown moves into the list, twice more selects the third row, Enter opens it.
    await user.keyboard("{ArrowDown}{ArrowDown}{ArrowDown}{Enter}");
    expect(onOpen).toHaveBeenCalledWith(rows[2]!.id);
  });

  it("fetches the next keyset page when the end of the list is near", async () => {
    const page1 = rows.slice(0, 30);
    const page2 = rows.slice(30);
    const backend = mockBackend({
      searchPage: async (q) =>
        q.cursor === undefined ? { rows: page1, next_cursor: "cursor-30" } : { rows: page2, next_cursor: null },
    });
    renderWith(backend, <Harness onOpen={() => {}} />);
    await screen.findAllByTestId("payment-row");
    // 30 rows of 32 px in a 600 px viewport: the end is within the prefetch distance.
    await waitFor(() => expect(backend.searchPage).toHaveBeenCalledWith(expect.objectContaining({ cursor: "cursor-30" })));
    await waitFor(() => expect(screen.getByText(/50 payments loaded/)).toBeInTheDocument());
    expect(backend.searchPage).toHaveBeenCalledTimes(2);
  });

  it("sends every filter and refuses a bad amount without calling the backend", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Harness onOpen={() => {}} />);
    await screen.findAllByTestId("payment-row");
    await user.selectOptions(screen.getByTestId("status-filter"), "failed");
    await user.selectOptions(screen.getByTestId("connector-filter"), "Square Fallback");
    await user.selectOptions(screen.getByTestId("outcome-filter"), "provider_unavailable");
    await user.type(screen.getByTestId("amount-filter"), "4250");
    await user.type(screen.getByTestId("currency-filter"), "usd");
    fireEvent.change(screen.getByTestId("from-filter"), { target: { value: "2026-11-01" } });
    fireEvent.change(screen.getByTestId("to-filter"), { target: { value: "2026-11-21" } });
    await user.click(screen.getByTestId("search-submit"));
    expect(backend.searchPage).toHaveBeenLastCalledWith({
      amount_min_minor: 4250,
      amount_max_minor: 4250,
      currency: "USD",
      from_ms: Date.UTC(2026, 10, 1),
      to_ms: Date.UTC(2026, 10, 22), // exclusive: all of the 21st
      status: "failed",
      connector_id: "c0000000-0000-4000-8000-000000000003",
      outcome: "provider_unavailable",
      limit: PAGE_SIZE,
    });

    const calls = backend.searchPage.mock.calls.length;
    await user.type(screen.getByTestId("amount-filter"), ".5");
    await user.click(screen.getByTestId("search-submit"));
    expect(screen.getByTestId("search-invalid")).toHaveTextContent(/minor units/);
    expect(backend.searchPage).toHaveBeenCalledTimes(calls);
  });

  it("renders only the visible rows of a 1,000,000-row result and fetches no page early", async () => {
    const million: PaymentSummary[] = Array.from({ length: 1_000_000 }, (_, i) => ({ ...summary, id: `p-${i}` }));
    const backend = mockBackend({ searchPage: async () => ({ rows: million, next_cursor: "cursor-1000000" }) });
    renderWith(backend, <Harness onOpen={() => {}} />);
    await waitFor(() => expect(screen.getByText(/1,000,000\+ payments loaded/)).toBeInTheDocument());
    const rendered = screen.getAllByTestId("payment-row");
    expect(rendered.length).toBeGreaterThan(5);
    expect(rendered.length).toBeLessThan(60);
    // Far from the end: the next page is not fetched eagerly (it is fetched on scroll, see above).
    expect(backend.searchPage).toHaveBeenCalledTimes(1);
  });
});
