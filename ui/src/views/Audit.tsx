import { useCallback, useEffect, useState } from "react";
import type { AuditEntry, CommandError } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatUtc, humanize, shortId } from "../format";

const LIMITS = [100, 500, 1000];

function parseObject(json: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function show(v: unknown): string {
  if (v === undefined) return "∅";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Keys that change on every write or identify the row: not worth a line. */
const NOISE = new Set(["created_at", "updated_at", "created_seq", "merchant_id", "id"]);
const RAW_MAX = 200;

function isEmptyJson(s: string): boolean {
  const t = s.trim();
  return t === "" || t === "null";
}

function clip(s: string): string {
  return s.length > RAW_MAX ? `${s.slice(0, RAW_MAX)}…` : s;
}

/**
 * Readable lines for an audit row: `weight: 100 → 0` for the keys that changed; `+ key: value`
 * for a created entity and `- key: value` for a deleted one; the (clipped) raw JSON otherwise.
 */
export function changeSummary(before: string, after: string): string[] {
  const b = parseObject(before);
  const a = parseObject(after);
  if (b === null && a !== null && isEmptyJson(before)) {
    return Object.keys(a)
      .filter((k) => !NOISE.has(k))
      .sort()
      .map((k) => `+ ${k}: ${show(a[k])}`);
  }
  if (a === null && b !== null && isEmptyJson(after)) {
    return Object.keys(b)
      .filter((k) => !NOISE.has(k))
      .sort()
      .map((k) => `- ${k}: ${show(b[k])}`);
  }
  if (b === null || a === null) return [clip(`${before.trim() || "∅"} → ${after.trim() || "∅"}`)];
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const changed = keys.filter((k) => k !== "updated_at" && JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  if (changed.length === 0) return ["no change"];
  return changed.map((k) => `${k}: ${show(b[k])} → ${show(a[k])}`);
}

const MAX_LINES = 6;
const MAX_LINE = 90;

/** At most six clipped lines; the whole change is in the tooltip. */
function ChangeLines({ lines }: { lines: string[] }) {
  const shown = lines.slice(0, MAX_LINES);
  return (
    <div title={lines.join("\n")}>
      {shown.map((line) => (
        <div key={line}>{line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line}</div>
      ))}
      {lines.length > MAX_LINES && <div className="muted">… {lines.length - MAX_LINES} more (hover)</div>}
    </div>
  );
}

/** Audit filters (applied to the latest `limit` entries). Empty = any. */
export interface AuditFilters {
  actor: string;
  entity: string;
  text: string;
  from: string;
  to: string;
}

/** Entries matching the filters: actor/text are case-insensitive substrings, dates are UTC days. */
export function filterAudit(entries: AuditEntry[], f: AuditFilters): AuditEntry[] {
  const actor = f.actor.trim().toLowerCase();
  const text = f.text.trim().toLowerCase();
  const from = f.from === "" ? null : Date.parse(`${f.from}T00:00:00Z`);
  const to = f.to === "" ? null : Date.parse(`${f.to}T00:00:00Z`) + 86_400_000 - 1;
  return entries.filter(
    (e) =>
      (actor === "" || e.actor.toLowerCase().includes(actor)) &&
      (f.entity === "" || e.entity === f.entity) &&
      (text === "" || `${e.reason} ${e.action} ${e.entity_id} ${e.before} ${e.after}`.toLowerCase().includes(text)) &&
      (from === null || Number.isNaN(from) || e.at_ms >= from) &&
      (to === null || Number.isNaN(to) || e.at_ms <= to),
  );
}

const NO_FILTERS: AuditFilters = { actor: "", entity: "", text: "", from: "", to: "" };

export function Audit() {
  const backend = useBackend();
  const [limit, setLimit] = useState(100);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const setF = (patch: Partial<AuditFilters>) => setFilters((f) => ({ ...f, ...patch }));
  const entities = [...new Set((entries ?? []).map((e) => e.entity))].sort();
  const shown = entries === null ? null : filterAudit(entries, filters);

  const load = useCallback(async () => {
    try {
      setEntries(await backend.auditLog(limit));
      setError(null);
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, limit]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="view">
      <div className="view-head">
        <h2>Audit log</h2>
        <div className="view-meta">
          <label className="inline-field">
            Show
            <select value={limit} onChange={(e) => setLimit(Number(e.target.value))} aria-label="Entries">
              {LIMITS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
            latest
          </label>
          <button type="button" className="btn btn-small" onClick={() => void load()}>
            Refresh
          </button>
        </div>
      </div>
      <div className="search-form" data-testid="audit-filters">
        <input
          aria-label="Actor"
          data-testid="audit-actor"
          placeholder="actor (who)"
          value={filters.actor}
          onChange={(e) => setF({ actor: e.target.value })}
        />
        <select
          aria-label="Entity"
          data-testid="audit-entity"
          value={filters.entity}
          onChange={(e) => setF({ entity: e.target.value })}
        >
          <option value="">weights, policies, connectors, credentials…</option>
          {entities.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
        <input
          aria-label="Text"
          className="search-input"
          data-testid="audit-text"
          placeholder="reason, action, id or changed value"
          value={filters.text}
          onChange={(e) => setF({ text: e.target.value })}
        />
        <input aria-label="From (UTC date)" type="date" value={filters.from} onChange={(e) => setF({ from: e.target.value })} />
        <input aria-label="To (UTC date)" type="date" value={filters.to} onChange={(e) => setF({ to: e.target.value })} />
        <button type="button" className="btn btn-ghost" onClick={() => setFilters(NO_FILTERS)}>
          Clear
        </button>
        {entries !== null && shown !== null && (
          <span className="muted" data-testid="audit-count">
            {shown.length} of {entries.length}
          </span>
        )}
      </div>
      {error !== null && <ErrorBanner error={error} title="Could not load the audit log:" onRetry={() => void load()} />}
      {entries === null && error === null && <div className="placeholder">Loading audit log…</div>}
      {entries !== null && entries.length === 0 && <div className="placeholder">No audit entries yet.</div>}
      {shown !== null && entries !== null && entries.length > 0 && shown.length === 0 && (
        <div className="placeholder">No entry matches these filters.</div>
      )}
      {shown !== null && shown.length > 0 && (
        <div className="panel panel-flush">
          <table className="table" data-testid="audit-table">
            <thead>
              <tr>
                <th style={{ width: 100 }}>Time (UTC)</th>
                <th style={{ width: 140 }}>Actor</th>
                <th style={{ width: 150 }}>Entity</th>
                <th style={{ width: 100 }}>Action</th>
                <th>Reason</th>
                <th style={{ width: 330 }}>Before → after</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.id} data-testid="audit-row">
                  <td className="mono">{formatUtc(e.at_ms)}</td>
                  <td className="truncate" title={e.actor} data-testid="audit-actor-cell">
                    {e.actor}
                  </td>
                  <td>
                    {e.entity} <span className="mono muted" title={e.entity_id}>{shortId(e.entity_id)}</span>
                  </td>
                  <td>{humanize(e.action)}</td>
                  <td>{e.reason}</td>
                  <td className="mono small change-lines">
                    <ChangeLines lines={changeSummary(e.before, e.after)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
