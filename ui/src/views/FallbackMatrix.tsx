import { useCallback, useEffect, useState } from "react";
import type { CommandError, OutcomeClass } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { PeriodPicker } from "../components/PeriodPicker";
import { OUTCOME_LABELS, formatCount, formatUtc, humanize } from "../format";
import type { FallbackMatrix as Matrix, MatrixCell, PeriodKey } from "../types";

/** What clicking a cell asks for: the payments of that class on that connector in the period. */
export interface MatrixDrill {
  outcome: OutcomeClass;
  connector_id: string;
  from_ms: number;
  to_ms: number;
}

const ACTION_TONES: Record<string, string> = {
  fall_back: "warn",
  stop: "bad",
  retry: "warn",
  reconcile: "info",
  succeed: "good",
};

function cellOf(m: Matrix, cls: OutcomeClass, connectorId: string): MatrixCell | undefined {
  return m.cells.find((c) => c.class === cls && c.connector_id === connectorId);
}

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
        Rows: outcome class of an attempt. Columns: the connector that answered. Each cell: attempts observed in the
        period · what the published policy does next · how many of those payments finally succeeded on another
        connector. Click a cell to list its payments.
      </p>
      {error !== null && <ErrorBanner error={error} title="Could not load the matrix:" onRetry={() => void load()} />}
      {matrix === null && error === null && <div className="placeholder">Loading matrix…</div>}
      {matrix !== null && (
        <div className="panel matrix-wrap">
          <table className="matrix" data-testid="fallback-matrix">
            <thead>
              <tr>
                <th className="matrix-corner">Outcome class \ connector</th>
                {matrix.connectors.map((c) => (
                  <th key={c.id} className="matrix-col">
                    {c.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {matrix.classes.map((cls) => (
                <tr key={cls}>
                  <th className={`matrix-row badge-oc-${cls}`} scope="row">
                    {OUTCOME_LABELS[cls]}
                  </th>
                  {matrix.connectors.map((c) => {
                    const cell = cellOf(matrix, cls, c.id);
                    const observed = cell?.observed ?? 0;
                    return (
                      <td key={c.id} className={`matrix-cell${observed === 0 ? " empty" : ""}`}>
                        <button
                          type="button"
                          className="matrix-btn"
                          data-testid="matrix-cell"
                          data-class={cls}
                          data-connector={c.name}
                          data-observed={observed}
                          disabled={observed === 0}
                          title={`${OUTCOME_LABELS[cls]} on ${c.name}: open the payments`}
                          onClick={() =>
                            onDrill({ outcome: cls, connector_id: c.id, from_ms: matrix.from_ms, to_ms: matrix.to_ms })
                          }
                        >
                          <span className="matrix-count">{formatCount(observed)}</span>
                          {cell !== undefined && (
                            <span className={`matrix-action tone-${ACTION_TONES[cell.policy_action] ?? "muted"}`}>
                              {humanize(cell.policy_action)}
                            </span>
                          )}
                          {cell !== undefined && cell.succeeded_elsewhere > 0 && (
                            <span className="matrix-saved" data-testid="succeeded-elsewhere">
                              {formatCount(cell.succeeded_elsewhere)} saved elsewhere
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
