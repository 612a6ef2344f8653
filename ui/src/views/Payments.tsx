import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useRef, useState } from "react";
import type { CommandError, PaymentStatus, PaymentSummary } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { PaymentStatusBadge } from "../components/Badge";
import { ErrorBanner } from "../components/ErrorBanner";
import { PAYMENT_STATUSES, STATUS_LABELS, formatUtc, shortId } from "../format";

export const SEARCH_LIMIT = 500;
const ROW_HEIGHT = 32;

/** What the Payments view keeps while the user looks at a payment (owned by App). */
export interface PaymentsState {
  query: string;
  status: PaymentStatus | null;
  results: PaymentSummary[] | null;
  selected: number;
  /** Scroll position of the list, restored on return. */
  scrollTop: number;
}

export const initialPaymentsState: PaymentsState = {
  query: "",
  status: null,
  results: null,
  selected: 0,
  scrollTop: 0,
};

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function Payments({
  state,
  setState,
  onOpen,
}: {
  state: PaymentsState;
  setState: React.Dispatch<React.SetStateAction<PaymentsState>>;
  onOpen: (id: string) => void;
}) {
  const backend = useBackend();
  const [error, setError] = useState<CommandError | null>(null);
  const [loading, setLoading] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const results = state.results;

  const search = useCallback(
    async (query: string, status: PaymentStatus | null) => {
      setLoading(true);
      try {
        const rows = await backend.searchPayments({ query: query.trim(), status, limit: SEARCH_LIMIT });
        setState((s) => ({ ...s, results: rows, selected: 0, scrollTop: 0 }));
        setError(null);
        listRef.current?.scrollTo({ top: 0 });
      } catch (e) {
        setError(toCommandError(e));
      } finally {
        setLoading(false);
      }
    },
    [backend, setState],
  );

  // First visit: the latest payments.
  useEffect(() => {
    if (state.results === null) void search(state.query, state.status);
  }, []);

  // "/" focuses the search box from anywhere in the view.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "/" && !isTyping(e.target)) {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const count = results?.length ?? 0;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => listRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialOffset: state.scrollTop,
  });

  const select = (index: number) => {
    if (count === 0) return;
    const i = Math.max(0, Math.min(count - 1, index));
    setState((s) => ({ ...s, selected: i }));
    virtualizer.scrollToIndex(i, { align: "auto" });
  };

  const open = (index: number) => {
    const row = results?.[index];
    if (row === undefined) return;
    setState((s) => ({ ...s, selected: index, scrollTop: listRef.current?.scrollTop ?? 0 }));
    onOpen(row.id);
  };

  const onSearchKey = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void search(state.query, state.status);
    } else if (e.key === "ArrowDown" && count > 0) {
      e.preventDefault();
      listRef.current?.focus();
      select(state.selected);
    } else if (e.key === "Escape") {
      setState((s) => ({ ...s, query: "" }));
    }
  };

  const onListKey = (e: React.KeyboardEvent<HTMLDivElement>) => {
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        select(state.selected + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        if (state.selected === 0) searchRef.current?.focus();
        else select(state.selected - 1);
        break;
      case "PageDown":
        e.preventDefault();
        select(state.selected + 15);
        break;
      case "PageUp":
        e.preventDefault();
        select(state.selected - 15);
        break;
      case "Home":
        e.preventDefault();
        select(0);
        break;
      case "End":
        e.preventDefault();
        select(count - 1);
        break;
      case "Enter":
        e.preventDefault();
        open(state.selected);
        break;
      default:
        break;
    }
  };

  return (
    <section className="view view-fill">
      <div className="view-head">
        <h2>Payments</h2>
        <form
          className="search-bar"
          onSubmit={(e) => {
            e.preventDefault();
            void search(state.query, state.status);
          }}
        >
          <input
            ref={searchRef}
            type="search"
            className="search-input"
            data-testid="search-input"
            placeholder="Payment id, merchant reference or provider reference   ( / )"
            value={state.query}
            onChange={(e) => setState((s) => ({ ...s, query: e.target.value }))}
            onKeyDown={onSearchKey}
            spellCheck={false}
            autoComplete="off"
          />
          <select
            aria-label="Status filter"
            data-testid="status-filter"
            value={state.status ?? ""}
            onChange={(e) => {
              const status = e.target.value === "" ? null : (e.target.value as PaymentStatus);
              setState((s) => ({ ...s, status }));
              void search(state.query, status);
            }}
          >
            <option value="">All statuses</option>
            {PAYMENT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-primary" disabled={loading}>
            {loading ? "Searching…" : "Search"}
          </button>
        </form>
      </div>
      {error !== null && (
        <ErrorBanner error={error} title="Search failed:" onRetry={() => void search(state.query, state.status)} />
      )}
      <div className="table-meta muted">
        {results === null
          ? loading
            ? "Loading latest payments…"
            : ""
          : `${count} payment${count === 1 ? "" : "s"}${count >= SEARCH_LIMIT ? ` (first ${SEARCH_LIMIT})` : ""} · ↑↓ select · Enter open · / search`}
      </div>
      <div className="vtable" role="table" aria-label="Payments" aria-rowcount={count}>
        <div className="vrow vhead" role="row">
          <span role="columnheader">Created (UTC)</span>
          <span role="columnheader">Payment</span>
          <span role="columnheader">Merchant ref</span>
          <span role="columnheader" className="num">
            Amount
          </span>
          <span role="columnheader">Status</span>
          <span role="columnheader" className="num">
            Attempts
          </span>
          <span role="columnheader">Last connector</span>
        </div>
        <div
          className="vbody"
          ref={listRef}
          tabIndex={0}
          onKeyDown={onListKey}
          data-testid="payments-list"
          aria-label="Payment results"
        >
          {results !== null && count === 0 && (
            <div className="placeholder">
              {state.query.trim() === "" ? "No payments yet." : `No payment matches "${state.query.trim()}".`}
            </div>
          )}
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const p = results?.[item.index];
              if (p === undefined) return null;
              const selected = item.index === state.selected;
              return (
                <div
                  key={p.id}
                  role="row"
                  className={`vrow${selected ? " selected" : ""}`}
                  data-testid="payment-row"
                  data-id={p.id}
                  aria-selected={selected}
                  style={{ position: "absolute", top: 0, left: 0, right: 0, height: item.size, transform: `translateY(${item.start}px)` }}
                  onClick={() => open(item.index)}
                  onMouseDown={() => setState((s) => ({ ...s, selected: item.index }))}
                >
                  <span role="cell" className="mono">
                    {formatUtc(p.created_at_ms)}
                  </span>
                  <span role="cell" className="mono" title={p.id}>
                    {shortId(p.id)}
                  </span>
                  <span role="cell" className="truncate" title={p.merchant_reference ?? ""}>
                    {p.merchant_reference ?? "—"}
                  </span>
                  <span role="cell" className="num mono">
                    {p.amount_display} {p.currency}
                  </span>
                  <span role="cell">
                    <PaymentStatusBadge status={p.status} />
                  </span>
                  <span role="cell" className="num">
                    {p.attempt_count}
                  </span>
                  <span role="cell" className="truncate">
                    {p.last_connector ?? "—"}
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </section>
  );
}
