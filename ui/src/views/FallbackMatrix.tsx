import { useCallback, useEffect, useState } from "react";
import type { CommandError } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { PeriodPicker } from "../components/PeriodPicker";
import { OUTCOME_LABELS, formatCount, formatUtc } from "../format";
import type { FallbackMatrixView as Matrix, PeriodKey, SearchFilter } from "../types";

/** What clicking a cell hands to the Payments view: the backend's search for that cell. */
export interface MatrixDrill {
  label: string;
  filter: SearchFilter;
}

const ACTION_TONES: Record<string, string> = {
  fall_back: "warn",
  stop: "bad",
  retry: "warn",
  reconcile: "info",
  succeed: "good",
};

export function FallbackMatrixView({
  period,
  setPeriod,
  onDrill,
}: {
  period: PeriodKey;
  setPeriod: (p: PeriodKey) => void;
  onDrill: (d: MatrixDrill) => void;
}) {
  const backend = useBackend();
  const [matrix, setMatrix] = useState<Matrix | null>(null);
  const [error, setError] = useState<CommandError | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setMatrix(await backend.fallbackMatrix(period));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, period]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="view">
      <div className="view-head">
        <h2>Fallback matrix</h2>
        <div className="view-meta">
          {matrix !== null && (
            <span className="muted">
              {formatUtc(matrix.from_ms)} → {formatUtc(matrix.to_ms)} UTC
            </span>
          )}
          <PeriodPicker value={period} onChange={setPeriod} />
        </div>
      </div>
      <p className="view-lede muted">
        Rows: outcome class of a provider call. Columns: the connector that answered. Each cell: calls observed in the
        period, and how many of those payments finally succeeded on another connector. The row header says what the
        published policy does after that class. Click a cell to list its payments.
      </p>
      {error !== null && <ErrorBanner error={error} title="Could not load the matrix:" onRetry={() => void load()} />}
      {matrix === null && error === null && <div className="placeholder">Loading matrix…</div>}
      {matrix !== null && (
        <div className="panel matrix-wrap">
          <table className="matrix" data-testid="fallback-matrix">
            <thead>
              <tr>
                <th className="matrix-corner">Outcome class</th>
                <th className="matrix-policy">Published policy action</th>
                {matrix.connectors.map((c) => (
                  <th key={c.id} className="matrix-col">
                    {c.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {matrix.rows.map((row) => (
                <tr key={row.class} data-testid="matrix-row" data-class={row.class}>
                  <th scope="row">
                    <span className={`badge badge-oc-${row.class}`}>{OUTCOME_LABELS[row.class]}</span>
                  </th>
                  <td className="matrix-policy" data-testid="policy-action" data-action={row.action}>
                    <span className={`tone-${ACTION_TONES[row.action] ?? "muted"}`}>{row.action_text}</span>
                    {!row.configurable && <span className="muted small"> (fixed)</span>}
                  </td>
                  {matrix.connectors.map((c) => {
                    const cell = row.cells.find((x) => x.connector_id === c.id);
                    const observed = cell?.observed ?? 0;
                    return (
                      <td key={c.id} className={`matrix-cell${observed === 0 ? " empty" : ""}`}>
                        <button
                          type="button"
                          className="matrix-btn"
                          data-testid="matrix-cell"
                          data-class={row.class}
                          data-connector={c.name}
                          data-observed={observed}
                          disabled={cell === undefined || observed === 0}
                          title={`${OUTCOME_LABELS[row.class]} on ${c.name}: open the payments`}
                          onClick={() =>
                            cell !== undefined &&
                            onDrill({ label: `${OUTCOME_LABELS[row.class]} on ${c.name} (matrix cell)`, filter: cell.search })
                          }
                        >
                          <span className="matrix-count">{formatCount(observed)}</span>
                          {cell !== undefined && cell.rescued > 0 && (
                            <span className="matrix-saved" data-testid="succeeded-elsewhere">
                              {formatCount(cell.rescued)} succeeded elsewhere
                            </span>
                          )}
                        </button>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
