import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useRef, useState } from "react";
import type { CommandError, OutcomeClass, PaymentStatus, PaymentSummary } from "../bindings";
import type { SearchFilter } from "../types";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { PaymentStatusBadge } from "../components/Badge";
import { ErrorBanner } from "../components/ErrorBanner";
import { OUTCOME_LABELS, PAYMENT_STATUSES, STATUS_LABELS, formatCount, formatUtc, shortId } from "../format";

export const PAGE_SIZE = 200;
const ROW_HEIGHT = 32;
/** Fetch the next page when the viewport is this close (rows) to the end of what is loaded. */
const PREFETCH_ROWS = 40;

/** The search filters (all optional; empty = latest payments). */
export interface PaymentFilters {
  text: string;
  /** Amount in minor units, as typed. */
  amount: string;
  currency: string;
  /** `YYYY-MM-DD` (UTC), inclusive. */
  from: string;
  to: string;
  status: PaymentStatus | null;
  connectorId: string | null;
  outcome: OutcomeClass | null;
}

export const emptyFilters: PaymentFilters = {
  text: "",
  amount: "",
  currency: "",
  from: "",
  to: "",
  status: null,
  connectorId: null,
  outcome: null,
};

/** What the Payments view keeps while the user looks at a payment (owned by App). */
export interface PaymentsState {
  filters: PaymentFilters;
  /** A search handed over by another view (a fallback-matrix cell), ANDed with the filters. */
  base: { label: string; filter: SearchFilter } | null;
  results: PaymentSummary[] | null;
  /** Keyset cursor of the next page; null when everything is loaded. */
  next: string | null;
  selected: number;
  /** Scroll position of the list, restored on return. */
  scrollTop: number;
}

export const initialPaymentsState: PaymentsState = {
  filters: emptyFilters,
  base: null,
  results: null,
  next: null,
  selected: 0,
  scrollTop: 0,
};

const DAY_MS = 86_400_000;

/** Filters (+ a handed-over search) -> the backend filter; `Err` is a sentence for the form. */
export function toFilter(
  f: PaymentFilters,
  base: SearchFilter | null,
  cursor: string | null,
): { ok: true; filter: SearchFilter } | { ok: false; error: string } {
  const amount = f.amount.trim();
  if (amount !== "" && !/^\d{1,15}$/.test(amount))
    return { ok: false, error: "Amount is a whole number of minor units (e.g. 4250 for 42.50 USD)." };
  const currency = f.currency.trim().toUpperCase();
  if (currency !== "" && !/^[A-Z]{3}$/.test(currency)) return { ok: false, error: "Currency is an ISO 4217 code (e.g. EUR)." };
  const day = (s: string) => (s.trim() === "" ? null : Date.parse(`${s.trim()}T00:00:00Z`));
  const from = day(f.from);
  const to = day(f.to);
  if ((from !== null && Number.isNaN(from)) || (to !== null && Number.isNaN(to)))
    return { ok: false, error: "Dates are YYYY-MM-DD (UTC)." };
  if (from !== null && to !== null && from > to) return { ok: false, error: "The start date is after the end date." };
  const filter: SearchFilter = { ...(base ?? {}), limit: PAGE_SIZE };
  if (cursor !== null) filter.cursor = cursor;
  if (f.text.trim() !== "") filter.query = f.text.trim();
  if (amount !== "") {
    filter.amount_min_minor = Number(amount);
    filter.amount_max_minor = Number(amount);
  }
  if (currency !== "") filter.currency = currency;
  if (from !== null) filter.from_ms = from;
  if (to !== null) filter.to_ms = to + DAY_MS; // exclusive: the whole "to" day is included
  if (f.status !== null) filter.status = f.status;
  if (f.connectorId !== null) filter.connector_id = f.connectorId;
  if (f.outcome !== null) filter.outcome = f.outcome;
  return { ok: true, filter };
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function Payments({
  state,
  setState,
  onOpen,
  connectors,
}: {
  state: PaymentsState;
  setState: React.Dispatch<React.SetStateAction<PaymentsState>>;
  onOpen: (id: string) => void;
  connectors: { id: string; name: string }[];
}) {
  const backend = useBackend();
  const [error, setError] = useState<CommandError | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const loadingMore = useRef(false);
  const searchRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const results = state.results;
  const f = state.filters;
  const setF = (patch: Partial<PaymentFilters>) => setState((s) => ({ ...s, filters: { ...s.filters, ...patch } }));

  const search = useCallback(
    async (filters: PaymentFilters, base: SearchFilter | null) => {
      const q = toFilter(filters, base, null);
      if (!q.ok) {
        setInvalid(q.error);
        return;
      }
      setInvalid(null);
      setLoading(true);
      try {
        const page = await backend.searchPage(q.filter);
        setState((s) => ({ ...s, results: page.rows, next: page.next_cursor, selected: 0, scrollTop: 0 }));
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

  const loadMore = useCallback(async () => {
    if (loadingMore.current || state.next === null) return;
    const q = toFilter(state.filters, state.base?.filter ?? null, state.next);
    if (!q.ok) return;
    loadingMore.current = true;
    try {
      const page = await backend.searchPage(q.filter);
      setState((s) => ({ ...s, results: [...(s.results ?? []), ...page.rows], next: page.next_cursor }));
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      loadingMore.current = false;
    }
  }, [backend, setState, state.next, state.filters, state.base]);

  // First visit (or a drill-down from the matrix): search with the current filters.
  useEffect(() => {
    if (state.results === null) void search(state.filters, state.base?.filter ?? null);
  }, [state.results]);

  // "/" or Ctrl+K focuses the search box from anywhere in the view.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.key === "/" && !isTyping(e.target)) || (e.key.toLowerCase() === "k" && (e.ctrlKey || e.metaKey))) {
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

  const items = virtualizer.getVirtualItems();
  const lastVisible = items.length > 0 ? items[items.length - 1]!.index : 0;
  useEffect(() => {
    if (state.next !== null && count > 0 && lastVisible >= count - PREFETCH_ROWS) void loadMore();
  }, [lastVisible, count, state.next, loadMore]);

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
      void search(f, state.base?.filter ?? null);
    } else if (e.key === "ArrowDown" && count > 0) {
      e.preventDefault();
      listRef.current?.focus();
      select(state.selected);
    } else if (e.key === "Escape") {
      setF({ text: "" });
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
        <div className="muted">
          {results === null
            ? loading
              ? "Searching…"
              : ""
            : `${formatCount(count)}${state.next !== null ? "+" : ""} payment${count === 1 ? "" : "s"} loaded`}
        </div>
      </div>
      <form
        className="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          void search(f, state.base?.filter ?? null);
        }}
      >
        <input
          ref={searchRef}
          type="search"
          className="search-input"
          data-testid="search-input"
          placeholder="Payment id, merchant reference or provider reference   ( / or Ctrl+K )"
          value={f.text}
          onChange={(e) => setF({ text: e.target.value })}
          onKeyDown={onSearchKey}
          spellCheck={false}
          autoComplete="off"
        />
        <input
          aria-label="Amount (minor units)"
          className="filter-amount"
          data-testid="amount-filter"
          placeholder="amount (minor)"
          value={f.amount}
          onChange={(e) => setF({ amount: e.target.value })}
          inputMode="numeric"
        />
        <input
          aria-label="Currency"
          className="filter-currency"
          data-testid="currency-filter"
          placeholder="CUR"
          value={f.currency}
          maxLength={3}
          onChange={(e) => setF({ currency: e.target.value })}
        />
        <input
          aria-label="From (UTC date)"
          type="date"
          data-testid="from-filter"
          value={f.from}
          onChange={(e) => setF({ from: e.target.value })}
        />
        <input
          aria-label="To (UTC date)"
          type="date"
          data-testid="to-filter"
          value={f.to}
          onChange={(e) => setF({ to: e.target.value })}
        />
        <select
          aria-label="Status filter"
          data-testid="status-filter"
          value={f.status ?? ""}
          onChange={(e) => setF({ status: e.target.value === "" ? null : (e.target.value as PaymentStatus) })}
        >
          <option value="">All statuses</option>
          {PAYMENT_STATUSES.map((st) => (
            <option key={st} value={st}>
              {STATUS_LABELS[st]}
            </option>
          ))}
        </select>
        <select
          aria-label="Connector filter"
          data-testid="connector-filter"
          value={f.connectorId ?? ""}
          onChange={(e) => setF({ connectorId: e.target.value === "" ? null : e.target.value })}
        >
          <option value="">All connectors</option>
          {connectors.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <select
          aria-label="Outcome class filter"
          data-testid="outcome-filter"
          value={f.outcome ?? ""}
          onChange={(e) => setF({ outcome: e.target.value === "" ? null : (e.target.value as OutcomeClass) })}
        >
          <option value="">All outcome classes</option>
          {(Object.keys(OUTCOME_LABELS) as OutcomeClass[]).map((o) => (
            <option key={o} value={o}>
              {OUTCOME_LABELS[o]}
            </option>
          ))}
        </select>
        <button type="submit" className="btn btn-primary" data-testid="search-submit" disabled={loading}>
          {loading ? "Searching…" : "Search"}
        </button>
        <button
          type="button"
          className="btn btn-ghost"
          data-testid="clear-filters"
          onClick={() => {
            setState((s) => ({ ...s, filters: emptyFilters, base: null }));
            void search(emptyFilters, null);
          }}
        >
          Clear
        </button>
      </form>
      {state.base !== null && (
        <div className="chip-row">
          <span className="chip" data-testid="base-filter">
            {state.base.label}
            <button
              type="button"
              className="btn btn-small btn-ghost"
              aria-label="Remove this filter"
              onClick={() => {
                setState((s) => ({ ...s, base: null }));
                void search(f, null);
              }}
            >
              ✕
            </button>
          </span>
        </div>
      )}
      {invalid !== null && (
        <div className="form-invalid" role="alert" data-testid="search-invalid">
          {invalid}
        </div>
      )}
      {error !== null && (
        <ErrorBanner error={error} title="Search failed:" onRetry={() => void search(f, state.base?.filter ?? null)} />
      )}
      <div className="table-meta muted">
        {results === null
          ? loading
            ? "Loading latest payments…"
            : ""
          : `${state.next !== null ? "more load as you scroll · " : ""}↑↓ select · Enter open · / or Ctrl+K search`}
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
              {f.text.trim() === "" ? "No payment matches these filters." : `No payment matches "${f.text.trim()}".`}
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
