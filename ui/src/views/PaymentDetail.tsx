import { useCallback, useEffect, useState } from "react";
import type { AttemptView, CommandError, EventView, PaymentDetail as Detail, RouteTrace } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { AttemptStatusBadge, Badge, OutcomeBadge, PaymentStatusBadge } from "../components/Badge";
import { Copyable } from "../components/CopyButton";
import { ErrorBanner } from "../components/ErrorBanner";
import {
  formatClock,
  formatLatency,
  formatMinor,
  formatUtc,
  humanize,
  routeSourceLine,
  verdictText,
} from "../format";

const NEXT_STEP_TONES: Record<string, string> = {
  succeed: "good",
  stop: "bad",
  fall_back: "warn",
  retry: "warn",
  reconcile: "info",
};

function Field({ label, children, wide }: { label: string; children: React.ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? "kv kv-wide" : "kv"}>
      <span className="kv-label">{label}</span>
      <span className="kv-value">{children ?? "—"}</span>
    </div>
  );
}

function orDash(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === "" ? "—" : String(v);
}

export function RouteTraceView({ route }: { route: RouteTrace }) {
  return (
    <section className="panel" data-testid="route-trace">
      <h3 className="panel-title">Route trace</h3>
      <div className={`route-source route-source-${route.source.type}`} data-testid="route-source">
        {routeSourceLine(route.source)}
      </div>
      {route.entries.length === 0 ? (
        <div className="placeholder">No connector was evaluated.</div>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th style={{ width: 48 }}>Path</th>
              <th style={{ width: 200 }}>Connector</th>
              <th style={{ width: 96 }}>Verdict</th>
              <th style={{ width: 220 }}>Reason</th>
              <th>Explanation</th>
            </tr>
          </thead>
          <tbody>
            {route.entries.map((e) => (
              <tr key={e.connector_id} data-testid="trace-entry" className={`trace-${e.verdict.verdict}`}>
                <td className="num mono">{e.verdict.verdict === "selected" ? `#${e.verdict.position + 1}` : ""}</td>
                <td>{e.connector_name}</td>
                <td>
                  <Badge tone={e.verdict.verdict === "selected" ? "good" : "muted"}>{e.verdict.verdict}</Badge>
                </td>
                <td className="muted">{verdictText(e.verdict)}</td>
                <td data-testid="trace-explanation">
                  {e.explanation.trim() !== ""
                    ? e.explanation
                    : `${e.connector_name}: ${e.verdict.verdict} — ${verdictText(e.verdict)}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Where an attempt sits on the payment's shared time axis. */
interface Axis {
  start: number;
  span: number;
}

function axisOf(attempts: AttemptView[]): Axis | null {
  if (attempts.length === 0) return null;
  const start = Math.min(...attempts.map((a) => a.requested_at_ms));
  const end = Math.max(...attempts.map((a) => a.responded_at_ms ?? a.requested_at_ms));
  return { start, span: Math.max(1, end - start) };
}

function AttemptColumn({ attempt: a, axis }: { attempt: AttemptView; axis: Axis | null }) {
  const left = axis ? ((a.requested_at_ms - axis.start) / axis.span) * 100 : 0;
  const width = axis && a.responded_at_ms !== null ? ((a.responded_at_ms - a.requested_at_ms) / axis.span) * 100 : 0;
  const outcomeClass = a.outcome ?? "none";
  return (
    <article className={`attempt-col oc-edge-${outcomeClass}`} data-testid="attempt-column" data-outcome={outcomeClass}>
      <header className="attempt-head">
        <span className="attempt-seq">#{a.seq}</span>
        <div className="attempt-conn">
          <strong>{a.connector_name}</strong>
          <span className="muted">{a.provider}</span>
        </div>
      </header>
      <div className="attempt-badges">
        <AttemptStatusBadge status={a.status} />
        <OutcomeBadge outcome={a.outcome} />
      </div>
      <div className="axis" title="position on the payment's time axis">
        <div
          className={`axis-bar${a.responded_at_ms === null ? " open" : ""}`}
          style={{ left: `${left}%`, width: a.responded_at_ms === null ? undefined : `max(${width}%, 3px)` }}
        />
      </div>
      <div className="kv-list">
        <Field label="Requested">
          <span className="mono">{formatClock(a.requested_at_ms)}</span>
          {axis && a.requested_at_ms > axis.start && (
            <span className="muted"> (+{formatLatency(a.requested_at_ms - axis.start)})</span>
          )}
        </Field>
        <Field label="Responded">
          <span className="mono">{a.responded_at_ms === null ? "no answer" : formatClock(a.responded_at_ms)}</span>
        </Field>
        <Field label="Latency">{formatLatency(a.latency_ms)}</Field>
        <Field label="Provider ref">
          {a.provider_reference ? <Copyable value={a.provider_reference} label="provider reference" short /> : "—"}
        </Field>
        <Field label="Provider status">{orDash(a.provider_status)}</Field>
        <Field label="HTTP status">{orDash(a.http_status)}</Field>
        <Field label="Raw code">
          <span className="mono">{orDash(a.raw_code)}</span>
        </Field>
        <Field label="Decline code">
          <span className="mono">{orDash(a.decline_code)}</span>
        </Field>
        <Field label="Message">{orDash(a.message)}</Field>
        <Field label="Attempt id">
          <Copyable value={a.id} label="attempt id" short />
        </Field>
      </div>
      {a.reconciliation !== null && (
        <div className="attempt-recon">
          <span className="kv-label">Reconciliation</span>
          <div>{a.reconciliation}</div>
        </div>
      )}
      <footer className={`attempt-next tone-${NEXT_STEP_TONES[a.next_step ?? ""] ?? "muted"}`} data-testid="next-step">
        <span className="kv-label">Then</span>
        <div>
          <strong>{a.next_step === null ? "no decision yet" : humanize(a.next_step)}</strong>
          {a.next_step_detail !== null && <span> — {a.next_step_detail}</span>}
        </div>
      </footer>
    </article>
  );
}

export function AttemptsView({ attempts }: { attempts: AttemptView[] }) {
  const axis = axisOf(attempts);
  const n = attempts.length;
  const style: React.CSSProperties =
    n <= 3
      ? { gridTemplateColumns: `repeat(${Math.max(n, 1)}, minmax(0, 1fr))` }
      : { gridAutoFlow: "column", gridAutoColumns: "calc((100% - 2 * var(--gap)) / 3)" };
  return (
    <section className="panel">
      <h3 className="panel-title">
        Attempts side by side <span className="muted">({n})</span>
      </h3>
      {n === 0 ? (
        <div className="placeholder">No provider was called.</div>
      ) : (
        <div className="attempt-grid" style={style} data-testid="attempt-grid">
          {attempts.map((a) => (
            <AttemptColumn key={a.id} attempt={a} axis={axis} />
          ))}
        </div>
      )}
    </section>
  );
}

function Timeline({ events }: { events: EventView[] }) {
  return (
    <section className="panel">
      <h3 className="panel-title">Event timeline</h3>
      {events.length === 0 ? (
        <div className="placeholder">No events.</div>
      ) : (
        <table className="table" data-testid="timeline">
          <thead>
            <tr>
              <th style={{ width: 110 }}>Time (UTC)</th>
              <th style={{ width: 140 }}>Cause</th>
              <th style={{ width: 170 }}>Kind</th>
              <th style={{ width: 220 }}>Status</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td className="mono">{formatClock(e.at_ms)}</td>
                <td>
                  <Badge tone={`cause-${e.cause}`}>{humanize(e.cause)}</Badge>
                </td>
                <td>{humanize(e.kind)}</td>
                <td className="mono">
                  {e.from_status !== null || e.to_status !== null ? `${e.from_status ?? "∅"} → ${e.to_status ?? "∅"}` : ""}
                </td>
                <td>{e.detail}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function PaymentDetailBody({ detail }: { detail: Detail }) {
  const s = detail.summary;
  return (
    <div className="detail" data-testid="payment-detail">
      <section className="panel detail-head">
        <div className="detail-title">
          <PaymentStatusBadge status={s.status} />
          <span className="detail-amount">
            {s.amount_display} {s.currency}
          </span>
          <Badge tone={detail.mode === "live" ? "live" : "muted"}>{detail.mode}</Badge>
        </div>
        <div className="kv-grid">
          <Field label="Payment id" wide>
            <Copyable value={s.id} label="payment id" />
          </Field>
          <Field label="Merchant ref">
            {s.merchant_reference ? <Copyable value={s.merchant_reference} label="merchant reference" /> : "—"}
          </Field>
          <Field label="Created (UTC)">{formatUtc(s.created_at_ms)}</Field>
          <Field label="Updated (UTC)">{formatUtc(detail.updated_at_ms)}</Field>
          <Field label="Country">{detail.country}</Field>
          <Field label="Method">{detail.method}</Field>
          <Field label="Capture">{detail.capture_mode}</Field>
          <Field label="Captured">{formatMinor(detail.captured_minor, s.currency, s.amount_display)}</Field>
          <Field label="Refunded">{formatMinor(detail.refunded_minor, s.currency, s.amount_display)}</Field>
          <Field label="Attempts">{s.attempt_count}</Field>
          <Field label="Last connector">{s.last_connector ?? "—"}</Field>
        </div>
        {(detail.failure_code !== null || detail.failure_message !== null) && (
          <div className="detail-failure" data-testid="failure">
            <span className="kv-label">Failure</span>
            {detail.failure_code !== null && <code className="error-code">{detail.failure_code}</code>}
            <span>{detail.failure_message ?? ""}</span>
          </div>
        )}
        {detail.next_action_url !== null && (
          <div className="detail-next-action">
            <span className="kv-label">Customer action</span>
            <Copyable value={detail.next_action_url} label="next action URL" />
          </div>
        )}
      </section>
      <RouteTraceView route={detail.route} />
      <AttemptsView attempts={detail.attempts} />
      <Timeline events={detail.events} />
    </div>
  );
}

export function PaymentDetailView({ id, onBack }: { id: string; onBack: () => void }) {
  const backend = useBackend();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<CommandError | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setDetail(await backend.getPayment(id));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, id]);

  useEffect(() => {
    setDetail(null);
    void load();
  }, [load]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key === "Escape" && !(t && ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) onBack();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onBack]);

  return (
    <section className="view">
      <div className="view-head">
        <a
          href="#payments"
          className="back-link"
          data-testid="back-to-payments"
          onClick={(e) => {
            e.preventDefault();
            onBack();
          }}
        >
          ← Back to payments
        </a>
        <div className="view-meta">
          <span className="muted mono">{id}</span>
          <button type="button" className="btn btn-small" onClick={() => void load()}>
            Reload
          </button>
        </div>
      </div>
      {error !== null && <ErrorBanner error={error} title="Could not load the payment:" onRetry={() => void load()} />}
      {detail === null && error === null && <div className="placeholder">Loading payment…</div>}
      {detail !== null && <PaymentDetailBody detail={detail} />}
    </section>
  );
}
