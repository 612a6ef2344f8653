import { useCallback, useEffect, useRef, useState } from "react";
import type { CommandError } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { PeriodPicker } from "../components/PeriodPicker";
import { formatCount, formatRate, formatUtc } from "../format";
import type { ExportJob, FinanceRow, FinanceTable, PeriodKey } from "../types";

/** How often a running export is polled. */
export const EXPORT_POLL_MS = 250;

/** Rows grouped by currency, accounts side by side within each currency. */
export function byCurrency(rows: FinanceRow[]): [string, FinanceRow[]][] {
  const groups = new Map<string, FinanceRow[]>();
  for (const r of rows) groups.set(r.currency, [...(groups.get(r.currency) ?? []), r]);
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function Finance({ period, setPeriod }: { period: PeriodKey; setPeriod: (p: PeriodKey) => void }) {
  const backend = useBackend();
  const [table, setTable] = useState<FinanceTable | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [job, setJob] = useState<ExportJob | null>(null);
  const [path, setPath] = useState("");
  const timer = useRef<number | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setTable(await backend.finance(period));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, period]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(
    () => () => {
      if (timer.current !== null) window.clearTimeout(timer.current);
    },
    [],
  );

  const poll = useCallback(
    (jobId: string) => {
      timer.current = window.setTimeout(async () => {
        try {
          const s = await backend.exportStatus(jobId);
          setJob(s);
          if (!s.finished) poll(jobId);
        } catch (e) {
          setError(toCommandError(e));
        }
      }, EXPORT_POLL_MS);
    },
    [backend],
  );

  const startExport = async () => {
    setError(null);
    try {
      const s = await backend.startFinanceExport(period, path.trim() === "" ? null : path.trim());
      setJob(s);
      if (!s.finished) poll(s.job_id);
    } catch (e) {
      setError(toCommandError(e));
    }
  };

  const rows = table?.rows ?? null;
  const running = job !== null && !job.finished;
  const pct =
    job === null || job.progress.rows_total === 0
      ? null
      : Math.min(100, Math.round((job.progress.rows_done / job.progress.rows_total) * 100));

  return (
    <section className="view">
      <div className="view-head">
        <h2>Finance</h2>
        <div className="view-meta">
          {table !== null && (
            <span className="muted">
              {formatUtc(table.from_ms)} → {formatUtc(table.to_ms)} UTC
            </span>
          )}
          <PeriodPicker value={period} onChange={setPeriod} />
        </div>
      </div>
      <section className="panel">
        <h3 className="panel-title">CSV export</h3>
        <p className="muted">
          One row per approved provider call in the period: UTC time, payment id, merchant reference, connector
          account, provider reference, amount in minor units and as a decimal, currency (ISO 4217), payment status.
        </p>
        <div className="export-bar">
          <input
            className="export-path"
            data-testid="csv-path"
            placeholder="Save to (directory or file path); empty = your Downloads directory"
            value={path}
            onChange={(e) => setPath(e.target.value)}
            spellCheck={false}
          />
          <button
            type="button"
            className="btn btn-primary"
            data-testid="export-csv"
            disabled={running}
            onClick={() => void startExport()}
          >
            {running ? "Exporting…" : "Export CSV"}
          </button>
        </div>
        {job !== null && (
          <div className="export-progress" data-testid="export-progress">
            <progress max={100} value={pct ?? undefined} />
            <span className="mono">
              {formatCount(job.progress.rows_done)} / {formatCount(job.progress.rows_total)} rows
              {pct !== null ? ` (${pct}%)` : ""}
            </span>
            {job.error !== null && <span className="form-invalid">{job.error}</span>}
            {job.finished && job.path !== null && (
              <span data-testid="csv-done">
                Saved to <code>{job.path}</code>
              </span>
            )}
          </div>
        )}
      </section>
      {error !== null && <ErrorBanner error={error} title="Finance failed:" onRetry={() => void load()} />}
      {rows === null && error === null && <div className="placeholder">Loading volumes…</div>}
      {rows !== null && rows.length === 0 && <div className="placeholder">No payments in this period.</div>}
      {rows !== null &&
        byCurrency(rows).map(([currency, accounts]) => (
          <section className="panel" key={currency} data-testid="finance-currency" data-currency={currency}>
            <h3 className="panel-title">{currency}</h3>
            <div className="finance-grid">
              {accounts.map((r) => (
                <article
                  key={r.connector_id}
                  className="card finance-card"
                  data-testid="finance-account"
                  data-name={r.connector_name}
                >
                  <h4>{r.connector_name}</h4>
                  <div className="finance-volume mono" data-testid="finance-volume">
                    {r.volume_display} {r.currency}
                  </div>
                  <div className="muted small">approved volume</div>
                  <div className="finance-figures">
                    <span>
                      <span className="metric-label">Approved</span> {formatCount(r.approved_count)}
                    </span>
                    <span>
                      <span className="metric-label">Calls</span> {formatCount(r.calls)}
                    </span>
                    <span>
                      <span className="metric-label">Approval</span> {formatRate(r.approval_rate)}
                    </span>
                  </div>
                  <div className="muted mono small">{formatCount(r.volume_minor)} minor units</div>
                </article>
              ))}
            </div>
          </section>
        ))}
    </section>
  );
}
