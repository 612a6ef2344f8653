import { useCallback, useEffect, useRef, useState } from "react";
import type { CommandError, ConnectorView } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { Badge, CircuitBadge } from "../components/Badge";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatClock, formatCount, formatLatency, formatRate, humanize } from "../format";

/** How often the cards refresh themselves. */
export const REFRESH_MS = 5000;
export const MAX_WEIGHT = 1000;
export const MIN_REASON = 3;

/** Client-side checks before calling the engine (which checks again). */
export function validateWeightForm(weight: string, reason: string): string | null {
  const trimmed = weight.trim();
  if (trimmed === "" || !/^\d+$/.test(trimmed)) return `Weight must be a whole number from 0 to ${MAX_WEIGHT}.`;
  const n = Number(trimmed);
  if (n < 0 || n > MAX_WEIGHT) return `Weight must be a whole number from 0 to ${MAX_WEIGHT}.`;
  if (reason.trim() === "") return "A reason is required: it is recorded in the audit log.";
  if (reason.trim().length < MIN_REASON) return `The reason must be at least ${MIN_REASON} characters.`;
  return null;
}

/** Share of weighted traffic a connector would get among the active connectors of its mode. */
function trafficShare(c: ConnectorView, all: ConnectorView[]): number | null {
  if (c.status !== "active" || c.weight === 0) return c.status === "active" ? 0 : null;
  const total = all
    .filter((o) => o.mode === c.mode && o.status === "active" && o.circuit !== "open")
    .reduce((sum, o) => sum + o.weight, 0);
  return total > 0 ? c.weight / total : null;
}

function WeightForm({
  connector,
  drain,
  onDone,
  onCancel,
}: {
  connector: ConnectorView;
  drain: boolean;
  onDone: (updated: ConnectorView) => void;
  onCancel: () => void;
}) {
  const backend = useBackend();
  const [weight, setWeight] = useState(drain ? "0" : String(connector.weight));
  const [reason, setReason] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const [serverError, setServerError] = useState<CommandError | null>(null);
  const [saving, setSaving] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setServerError(null);
    const problem = validateWeightForm(weight, reason);
    setInvalid(problem);
    if (problem !== null) return;
    setSaving(true);
    try {
      const updated = await backend.setConnectorWeight({
        connector_id: connector.id,
        weight: Number(weight.trim()),
        reason: reason.trim(),
      });
      onDone(updated);
    } catch (err) {
      setServerError(toCommandError(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="weight-form" onSubmit={(e) => void submit(e)} noValidate>
      <div className="form-title">
        {drain ? `Drain ${connector.name}: weight → 0` : `Edit weight of ${connector.name}`}
      </div>
      <label className="field">
        <span>New weight (0–{MAX_WEIGHT})</span>
        <input
          type="number"
          min={0}
          max={MAX_WEIGHT}
          step={1}
          value={weight}
          data-testid="weight-input"
          onChange={(e) => setWeight(e.target.value)}
          autoFocus={!drain}
        />
      </label>
      <label className="field">
        <span>Reason (required, audited)</span>
        <textarea
          rows={2}
          value={reason}
          data-testid="reason-input"
          placeholder="e.g. INC-1234: elevated 5xx from Stripe US"
          onChange={(e) => setReason(e.target.value)}
          autoFocus={drain}
          maxLength={500}
        />
      </label>
      {invalid !== null && (
        <div className="form-invalid" role="alert" data-testid="form-invalid">
          {invalid}
        </div>
      )}
      {serverError !== null && <ErrorBanner error={serverError} title="Not saved:" />}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="save-weight" disabled={saving}>
          {saving ? "Saving…" : drain ? "Drain" : "Save"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={saving}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ConnectorCard({
  connector,
  all,
  flash,
  onSaved,
}: {
  connector: ConnectorView;
  all: ConnectorView[];
  flash: string | null;
  onSaved: (updated: ConnectorView) => void;
}) {
  const [editing, setEditing] = useState<null | "edit" | "drain">(null);
  const c = connector;
  const share = trafficShare(c, all);
  const drained = c.status === "active" && c.weight === 0 && !c.is_primary;
  const shareNote =
    c.status !== "active"
      ? "disabled: no traffic"
      : c.weight === 0
        ? c.is_primary
          ? "last resort only"
          : "drained"
        : share === null
          ? "no weighted traffic"
          : `${formatRate(share)} of weighted`;
  return (
    <article
      className={`card connector-card${c.status !== "active" ? " is-disabled" : ""}${drained ? " is-drained" : ""}`}
      data-testid="connector-card"
      data-name={c.name}
    >
      <header className="card-head">
        <div className="card-title">
          <h3>{c.name}</h3>
          <div className="card-sub">
            {c.provider} · {c.mode}
          </div>
        </div>
        <div className="card-badges">
          {c.is_primary && <Badge tone="primary">PRIMARY</Badge>}
          <Badge tone={c.status === "active" ? "good" : "muted"}>{humanize(c.status)}</Badge>
          <CircuitBadge circuit={c.circuit} />
        </div>
      </header>
      <div className="card-metrics">
        <div className="metric metric-weight">
          <span className="metric-label">Weight</span>
          <span className="metric-value" data-testid="weight-value">
            {c.weight}
          </span>
          <span className="metric-note">{shareNote}</span>
        </div>
        <div className="metric">
          <span className="metric-label">Approval 24h</span>
          <span className="metric-value">{formatRate(c.approval_rate_24h)}</span>
          <span className="metric-note">{formatCount(c.approved_24h)} approved</span>
        </div>
        <div className="metric">
          <span className="metric-label">Attempts 24h</span>
          <span className="metric-value">{formatCount(c.attempts_24h)}</span>
        </div>
        <div className="metric">
          <span className="metric-label">p95 latency</span>
          <span className="metric-value">{formatLatency(c.p95_latency_ms)}</span>
        </div>
      </div>
      {flash !== null && (
        <div className="flash" role="status">
          {flash}
        </div>
      )}
      {editing === null ? (
        <div className="card-actions">
          <button type="button" className="btn" data-testid="edit-weight" onClick={() => setEditing("edit")}>
            Edit weight
          </button>
          <button
            type="button"
            className="btn btn-warn"
            data-testid="drain"
            onClick={() => setEditing("drain")}
            disabled={c.weight === 0}
            title={c.weight === 0 ? "already drained" : "set weight to 0"}
          >
            Drain
          </button>
        </div>
      ) : (
        <WeightForm
          connector={c}
          drain={editing === "drain"}
          onCancel={() => setEditing(null)}
          onDone={(updated) => {
            setEditing(null);
            onSaved(updated);
          }}
        />
      )}
    </article>
  );
}

export function Connectors() {
  const backend = useBackend();
  const [connectors, setConnectors] = useState<ConnectorView[] | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [flash, setFlash] = useState<{ id: string; text: string } | null>(null);
  const inFlight = useRef(false);

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const list = await backend.listConnectors();
      setConnectors(list);
      setError(null);
      setUpdatedAt(Date.now());
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      inFlight.current = false;
    }
  }, [backend]);

  useEffect(() => {
    void refresh();
    const t = window.setInterval(() => void refresh(), REFRESH_MS);
    return () => window.clearInterval(t);
  }, [refresh]);

  useEffect(() => {
    if (flash === null) return;
    const t = window.setTimeout(() => setFlash(null), 6000);
    return () => window.clearTimeout(t);
  }, [flash]);

  const onSaved = (updated: ConnectorView) => {
    setConnectors((list) => (list ?? []).map((c) => (c.id === updated.id ? updated : c)));
    setFlash({ id: updated.id, text: `Weight set to ${updated.weight}.` });
    void refresh();
  };

  const drained = connectors?.filter((c) => c.status === "active" && c.weight === 0 && !c.is_primary).length ?? 0;
  const degraded = connectors?.filter((c) => c.circuit !== "closed").length ?? 0;

  return (
    <section className="view">
      <div className="view-head">
        <h2>Connectors</h2>
        <div className="view-meta">
          {connectors !== null && (
            <span>
              {connectors.length} connectors · {drained} drained · {degraded} with circuit not closed
            </span>
          )}
          <span className="muted">
            auto-refresh {REFRESH_MS / 1000} s{updatedAt !== null ? ` · updated ${formatClock(updatedAt)} UTC` : ""}
          </span>
          <button type="button" className="btn btn-small" onClick={() => void refresh()}>
            Refresh
          </button>
        </div>
      </div>
      {error !== null && (
        <ErrorBanner
          error={error}
          title={connectors === null ? "Could not load connectors:" : "Refresh failed (showing last data):"}
          onRetry={() => void refresh()}
        />
      )}
      {connectors === null && error === null && <div className="placeholder">Loading connectors…</div>}
      {connectors !== null && connectors.length === 0 && (
        <div className="placeholder">This merchant has no connectors yet.</div>
      )}
      {connectors !== null && connectors.length > 0 && (
        <div className="card-grid">
          {connectors.map((c) => (
            <ConnectorCard
              key={c.id}
              connector={c}
              all={connectors}
              flash={flash !== null && flash.id === c.id ? flash.text : null}
              onSaved={onSaved}
            />
          ))}
        </div>
      )}
    </section>
  );
}
