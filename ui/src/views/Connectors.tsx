import { useCallback, useEffect, useRef, useState } from "react";
import type { AuditEntry, CommandError, ConnectorView } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { Badge, CircuitBadge } from "../components/Badge";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatClock, formatCount, formatLatency, formatRate, formatUtc, humanize } from "../format";
import { changeSummary } from "./Audit";
import type { ConnectorAlert, ConnectorCard as Card } from "../types";

/** How often the cards refresh themselves. */
export const REFRESH_MS = 5000;
export const MAX_WEIGHT = 1000;
export const MIN_REASON = 3;
/** Audit rows read with each refresh (the cards show the latest one of their connector). */
const AUDIT_WINDOW = 200;

/** A short "what changed" for a card: `weight: 70 → 0`, or `created` for a new connector. */
export function cardChange(e: AuditEntry): string {
  const lines = changeSummary(e.before, e.after);
  if (lines.length > 0 && lines.every((l) => l.startsWith("+ "))) return "created";
  const shown = lines.filter((l) => !l.startsWith("circuit_since") && !l.startsWith("circuit_generation"));
  return shown.slice(0, 3).join(", ") + (shown.length > 3 ? ` (+${shown.length - 3} more)` : "");
}

/** Stable key of an alert: one OS notification per connector and kind until it clears. */
export function alertKey(a: ConnectorAlert): string {
  return `${a.connector_id}:${a.kind}`;
}

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

type FormMode = "edit" | "drain" | "restore";
type CircuitMode = "open" | "closed" | "auto";

const CIRCUIT_LABELS: Record<CircuitMode, string> = {
  open: "Force open (no traffic)",
  closed: "Force closed (traffic despite failures)",
  auto: "Automatic (release the override)",
};

function CircuitForm({
  connector,
  mode,
  onDone,
  onCancel,
}: {
  connector: ConnectorView;
  mode: CircuitMode;
  onDone: () => void;
  onCancel: () => void;
}) {
  const backend = useBackend();
  const [reason, setReason] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<CommandError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (reason.trim().length < MIN_REASON) {
      setError({ code: "reason_required", message: `A reason of at least ${MIN_REASON} characters is required.` });
      return;
    }
    if (!confirming) {
      setConfirming(true);
      setError(null);
      return;
    }
    setBusy(true);
    try {
      await backend.forceCircuit({ connector_id: connector.id, mode, reason: reason.trim() });
      onDone();
    } catch (err) {
      setError(toCommandError(err));
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="weight-form" onSubmit={(e) => void submit(e)} noValidate data-testid="circuit-form">
      <div className="form-title">
        Circuit of {connector.name}: {CIRCUIT_LABELS[mode]}
      </div>
      <textarea
        rows={2}
        value={reason}
        data-testid="circuit-reason"
        placeholder="Reason (required, audited)"
        onChange={(e) => {
          setReason(e.target.value);
          setConfirming(false);
        }}
        maxLength={500}
      />
      {confirming && (
        <div className="confirm" data-testid="confirm-circuit">
          {CIRCUIT_LABELS[mode]} for {connector.name}? Reason: “{reason.trim()}”
        </div>
      )}
      {error !== null && <ErrorBanner error={error} title="Not changed:" />}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="save-circuit" disabled={busy}>
          {confirming ? "Confirm" : "Apply…"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function WeightForm({
  connector,
  mode,
  restoreTo,
  onDone,
  onCancel,
}: {
  connector: ConnectorView;
  mode: FormMode;
  restoreTo: number | null;
  onDone: (weight: number) => void;
  onCancel: () => void;
}) {
  const backend = useBackend();
  const drain = mode === "drain";
  const [weight, setWeight] = useState(
    drain ? "0" : mode === "restore" ? String(restoreTo ?? "") : String(connector.weight),
  );
  const [confirming, setConfirming] = useState(false);
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
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setSaving(true);
    try {
      const action = { connector_id: connector.id, reason: reason.trim() };
      if (mode === "drain") onDone((await backend.drainConnector(action)).connector.weight);
      else if (mode === "restore") onDone((await backend.restoreConnector(action)).connector.weight);
      else
        onDone(
          (
            await backend.setConnectorWeight({
              connector_id: connector.id,
              weight: Number(weight.trim()),
              reason: reason.trim(),
            })
          ).weight,
        );
    } catch (err) {
      setServerError(toCommandError(err));
      setConfirming(false);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="weight-form" onSubmit={(e) => void submit(e)} noValidate>
      <div className="form-title">
        {drain
          ? `Drain ${connector.name}: weight → 0`
          : mode === "restore"
            ? `Restore ${connector.name}${restoreTo !== null ? ` to its weight before the drain (${restoreTo})` : ""}`
            : `Edit weight of ${connector.name}`}
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
          onChange={(e) => {
            setWeight(e.target.value);
            setConfirming(false);
          }}
          readOnly={mode !== "edit"}
          autoFocus={mode === "edit"}
        />
      </label>
      <label className="field">
        <span>Reason (required, audited)</span>
        <textarea
          rows={2}
          value={reason}
          data-testid="reason-input"
          placeholder="e.g. INC-1234: elevated 5xx from Stripe US"
          onChange={(e) => {
            setReason(e.target.value);
            setConfirming(false);
          }}
          autoFocus={mode !== "edit"}
          maxLength={500}
        />
      </label>
      {invalid !== null && (
        <div className="form-invalid" role="alert" data-testid="form-invalid">
          {invalid}
        </div>
      )}
      {serverError !== null && <ErrorBanner error={serverError} title="Not saved:" />}
      {confirming && (
        <div className="confirm" data-testid="confirm-weight">
          Set <strong>{connector.name}</strong> weight {connector.weight} → <strong>{weight.trim()}</strong>
          {drain ? " (no new traffic)" : ""}? Reason: “{reason.trim()}”
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="save-weight" disabled={saving}>
          {saving ? "Saving…" : confirming ? "Confirm" : drain ? "Drain…" : mode === "restore" ? "Restore…" : "Save…"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={saving}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ConnectorCard({
  card,
  all,
  flash,
  lastAudit,
  onSaved,
}: {
  card: Card;
  all: ConnectorView[];
  flash: string | null;
  lastAudit: AuditEntry | null;
  onSaved: (connectorId: string, weight: number, what?: string) => void;
}) {
  const [editing, setEditing] = useState<null | FormMode>(null);
  const [circuitMode, setCircuitMode] = useState<CircuitMode | null>(null);
  const c = card.connector;
  const restoreTo = card.restore_weight;
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
      <div className="card-live">
        <span>
          <span className="metric-label">Last 5 min</span> {formatCount(card.calls_5m)} calls · approval{" "}
          <strong className={card.approval_rate_5m !== null && card.approval_rate_5m < card.approval_threshold ? "tone-bad" : ""}>
            {formatRate(card.approval_rate_5m)}
          </strong>{" "}
          (alert &lt; {formatRate(card.approval_threshold)}) · provider failures{" "}
          <strong className={card.failure_rate_5m !== null && card.failure_rate_5m > card.failure_threshold ? "tone-bad" : ""}>
            {formatRate(card.failure_rate_5m)}
          </strong>{" "}
          (alert &gt; {formatRate(card.failure_threshold)})
        </span>
      </div>
      {card.alerts.map((a) => (
        <div key={a.kind} className="card-alert" data-testid="connector-alert" data-kind={a.kind}>
          ⚠ {a.message}
        </div>
      ))}
      {flash !== null && (
        <div className="flash" role="status">
          {flash}
        </div>
      )}
      {lastAudit !== null && (
        <div className="card-audit" data-testid="card-audit">
          <span className="kv-label">Last change</span>{" "}
          <span className="mono">{formatUtc(lastAudit.at_ms)}</span> · {lastAudit.actor} ·{" "}
          {cardChange(lastAudit)} · “{lastAudit.reason}”
        </div>
      )}
      {circuitMode !== null ? (
        <CircuitForm
          connector={c}
          mode={circuitMode}
          onCancel={() => setCircuitMode(null)}
          onDone={() => {
            const label = CIRCUIT_LABELS[circuitMode];
            setCircuitMode(null);
            onSaved(c.id, c.weight, `Circuit: ${label}.`);
          }}
        />
      ) : editing === null ? (
        <div className="card-actions">
          <button type="button" className="btn" data-testid="edit-weight" onClick={() => setEditing("edit")}>
            Edit weight
          </button>
          {c.weight === 0 && !c.is_primary ? (
            <button
              type="button"
              className="btn btn-good"
              data-testid="restore"
              onClick={() => setEditing("restore")}
              title={restoreTo !== null ? `back to weight ${restoreTo}` : "choose a weight"}
            >
              Restore
            </button>
          ) : (
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
          )}
          <select
            aria-label="Circuit override"
            className="circuit-select"
            data-testid="circuit-override"
            value=""
            onChange={(e) => e.target.value !== "" && setCircuitMode(e.target.value as CircuitMode)}
          >
            <option value="">Circuit…</option>
            <option value="open">Force open</option>
            <option value="closed">Force closed</option>
            <option value="auto">Automatic</option>
          </select>
        </div>
      ) : (
        <WeightForm
          connector={c}
          mode={editing}
          restoreTo={restoreTo}
          onCancel={() => setEditing(null)}
          onDone={(weight) => {
            setEditing(null);
            onSaved(c.id, weight);
          }}
        />
      )}
    </article>
  );
}

export function Connectors() {
  const backend = useBackend();
  const [cards, setCards] = useState<Card[] | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [flash, setFlash] = useState<{ id: string; text: string } | null>(null);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const inFlight = useRef(false);
  /** Alerts already notified (until they clear): one OS notification per drop below a threshold. */
  const alerted = useRef(new Set<string>());

  const refresh = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    try {
      const [list, entries] = await Promise.all([backend.connectorCards(), backend.auditLog(AUDIT_WINDOW)]);
      setCards(list);
      setAudit(entries);
      setError(null);
      setUpdatedAt(Date.now());
      const active = new Set(list.flatMap((c) => c.alerts.map(alertKey)));
      for (const key of [...alerted.current]) if (!active.has(key)) alerted.current.delete(key);
      for (const a of list.flatMap((c) => c.alerts)) {
        if (alerted.current.has(alertKey(a))) continue;
        alerted.current.add(alertKey(a));
        backend.notify(`Switchboard: ${a.connector_name}`, a.message).catch(() => undefined);
      }
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

  const onSaved = (id: string, weight: number, what?: string) => {
    setCards((list) => (list ?? []).map((c) => (c.connector.id === id ? { ...c, connector: { ...c.connector, weight } } : c)));
    setFlash({ id, text: what ?? `Weight set to ${weight}.` });
    void refresh();
  };

  const connectors = cards?.map((c) => c.connector) ?? null;
  const drained = connectors?.filter((c) => c.status === "active" && c.weight === 0 && !c.is_primary).length ?? 0;
  const degraded = connectors?.filter((c) => c.circuit !== "closed").length ?? 0;
  const alerts = cards?.reduce((n, c) => n + c.alerts.length, 0) ?? 0;

  return (
    <section className="view">
      <div className="view-head">
        <h2>Operators · connectors</h2>
        <div className="view-meta">
          {connectors !== null && (
            <span>
              {connectors.length} connectors · {drained} drained · {degraded} with circuit not closed ·{" "}
              <span className={alerts > 0 ? "tone-bad" : ""}>{alerts} alerts</span>
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
      {cards !== null && connectors !== null && cards.length > 0 && (
        <div className="card-grid">
          {cards.map((card) => (
            <ConnectorCard
              key={card.connector.id}
              card={card}
              all={connectors}
              flash={flash !== null && flash.id === card.connector.id ? flash.text : null}
              lastAudit={audit.find((e) => e.entity === "connector" && e.entity_id === card.connector.id) ?? null}
              onSaved={onSaved}
            />
          ))}
        </div>
      )}
    </section>
  );
}
