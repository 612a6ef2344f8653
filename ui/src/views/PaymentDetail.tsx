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

/** One place the customer may have been charged. */
export interface Charge {
  attempt: AttemptView;
  /** `charged`: approved/succeeded; `maybe`: outcome unknown (reconciliation pending or unresolved). */
  certainty: "charged" | "maybe";
}

/** Attempts that charged (or may have charged) the customer. */
export function chargesOf(attempts: AttemptView[]): Charge[] {
  const out: Charge[] = [];
  for (const a of attempts) {
    const recon = (a.reconciliation ?? "").toLowerCase();
    const reconciledCharged = /\b(charged|succeeded|captured|authorized|approved)\b/.test(recon) && !/not charged/.test(recon);
    if (a.status === "succeeded" || a.outcome === "approved" || reconciledCharged) out.push({ attempt: a, certainty: "charged" });
    else if (a.status === "unknown" || a.status === "pending" || a.outcome === "unknown_outcome")
      out.push({ attempt: a, certainty: "maybe" });
  }
  return out;
}

/** The one-line answer to "was the customer charged, where, and twice?". */
export function chargeVerdict(charges: Charge[]): { tone: "good" | "bad" | "warn" | "muted"; text: string } {
  const sure = charges.filter((c) => c.certainty === "charged");
  const maybe = charges.filter((c) => c.certainty === "maybe");
  const where = (cs: Charge[]) =>
    cs.map((c) => `${c.attempt.connector_name}${c.attempt.provider_reference ? ` (${c.attempt.provider_reference})` : ""}`).join(" and ");
  if (sure.length > 1) return { tone: "bad", text: `Charged TWICE: on ${where(sure)}. Refund one of them.` };
  if (sure.length === 1 && maybe.length > 0)
    return { tone: "warn", text: `Charged once on ${where(sure)}; ${where(maybe)} has an unknown outcome (possible second charge, being reconciled).` };
  if (sure.length === 1) return { tone: "good", text: `Charged once, on ${where(sure)}. Not charged twice.` };
  if (maybe.length > 0) return { tone: "warn", text: `Not known yet: ${where(maybe)} may have charged (outcome unknown, being reconciled).` };
  return { tone: "muted", text: "Not charged: no provider approved this payment." };
}

export function ChargeSummary({ detail }: { detail: Detail }) {
  const charges = chargesOf(detail.attempts);
  const v = chargeVerdict(charges);
  const s = detail.summary;
  return (
    <section className={`panel charge-summary tone-border-${v.tone}`} data-testid="charge-summary" data-charges={charges.filter((c) => c.certainty === "charged").length}>
      <h3 className="panel-title">Charged where? Charged twice?</h3>
      <div className={`charge-verdict tone-${v.tone}`} data-testid="charge-verdict">
        {v.text}
      </div>
      {charges.length > 0 && (
        <table className="table small">
          <thead>
            <tr>
              <th>Attempt</th>
              <th>Connector</th>
              <th>Provider reference</th>
              <th>Provider status / raw code</th>
              <th>Certainty</th>
            </tr>
          </thead>
          <tbody>
            {charges.map((c) => (
              <tr key={c.attempt.id} data-testid="charge-row">
                <td className="mono">#{c.attempt.seq}</td>
                <td>{c.attempt.connector_name}</td>
                <td>
                  {c.attempt.provider_reference ? (
                    <Copyable value={c.attempt.provider_reference} label="provider reference" />
                  ) : (
                    "—"
                  )}
                </td>
                <td className="mono">
                  {orDash(c.attempt.provider_status)} / {orDash(c.attempt.raw_code)}
                </td>
                <td>{c.certainty === "charged" ? "charged" : "unknown"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="muted small">
        Final state: {STATUS_TEXT(s.status)} · captured {formatMinor(detail.captured_minor, s.currency, s.amount_display)} · refunded{" "}
        {formatMinor(detail.refunded_minor, s.currency, s.amount_display)}
      </div>
    </section>
  );
}

function STATUS_TEXT(status: Detail["summary"]["status"]): string {
  return humanize(status);
}

/** What kind of marker an event is on the lanes. */
export function eventKind(e: EventView): "webhook_ok" | "webhook_rejected" | "reconciler" | "merchant_webhook" | "status" | "other" {
  const k = `${e.cause} ${e.kind}`.toLowerCase();
  if (k.includes("merchant")) return "merchant_webhook";
  if (e.cause === "webhook" || k.includes("provider_webhook")) return k.includes("reject") || k.includes("invalid") ? "webhook_rejected" : "webhook_ok";
  if (e.cause === "reconciler" || k.includes("reconcil")) return "reconciler";
  if (e.to_status !== null) return "status";
  return "other";
}

const MARK_LABEL: Record<ReturnType<typeof eventKind>, string> = {
  webhook_ok: "provider webhook (valid)",
  webhook_rejected: "provider webhook (rejected)",
  reconciler: "reconciler",
  merchant_webhook: "merchant webhook delivery",
  status: "status change",
  other: "event",
};

/** Every attempt (and the payment itself) as a lane on ONE shared time axis. */
export function Lanes({ detail }: { detail: Detail }) {
  const times = [
    ...detail.attempts.flatMap((a) => [a.requested_at_ms, a.responded_at_ms ?? a.requested_at_ms]),
    ...detail.events.map((e) => e.at_ms),
  ];
  if (times.length === 0) return null;
  const start = Math.min(...times);
  const end = Math.max(...times);
  const span = Math.max(1, end - start);
  const pos = (t: number) => `${(((t - start) / span) * 100).toFixed(2)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => start + f * span);
  const paymentEvents = detail.events.filter((e) => e.attempt_id === null || !detail.attempts.some((a) => a.id === e.attempt_id));
  const marks = (events: EventView[]) =>
    events.map((e) => {
      const kind = eventKind(e);
      return (
        <span
          key={e.id}
          className={`lane-mark mark-${kind}`}
          style={{ left: pos(e.at_ms) }}
          data-testid="lane-mark"
          data-kind={kind}
          title={`${formatClock(e.at_ms)} · ${MARK_LABEL[kind]} · ${humanize(e.kind)}${e.to_status ? ` → ${e.to_status}` : ""} · ${e.detail}`}
        />
      );
    });
  return (
    <section className="panel" data-testid="lanes">
      <h3 className="panel-title">
        Timeline on one time axis <span className="muted">(0 = {formatClock(start)} UTC · span {formatLatency(span)})</span>
      </h3>
      <div className="lanes">
        <div className="lane-row lane-axis">
          <span className="lane-label" />
          <div className="lane-track">
            {ticks.map((t, i) => (
              <span key={i} className="lane-tick" style={{ left: pos(t) }}>
                +{formatLatency(Math.round(t - start))}
              </span>
            ))}
          </div>
        </div>
        <div className="lane-row" data-testid="lane" data-lane="payment">
          <span className="lane-label">
            <strong>Payment</strong>
            <span className="muted">route · webhooks · final</span>
          </span>
          <div className="lane-track">{marks(paymentEvents)}</div>
        </div>
        {detail.attempts.map((a) => {
          const answered = a.responded_at_ms !== null;
          return (
            <div className="lane-row" key={a.id} data-testid="lane" data-lane={`attempt-${a.seq}`}>
              <span className="lane-label">
                <strong>
                  #{a.seq} {a.connector_name}
                </strong>
                <span className="muted">
                  {a.outcome ? humanize(a.outcome) : humanize(a.status)}
                  {a.raw_code ? ` · ${a.raw_code}` : ""}
                  {a.next_step ? ` → ${humanize(a.next_step)}` : ""}
                </span>
              </span>
              <div className="lane-track">
                <span
                  className={`lane-bar oc-bg-${a.outcome ?? "none"}${answered ? "" : " open"}`}
                  style={{
                    left: pos(a.requested_at_ms),
                    width: answered ? `max(calc(${pos(a.responded_at_ms ?? a.requested_at_ms)} - ${pos(a.requested_at_ms)}), 4px)` : undefined,
                    right: answered ? undefined : 0,
                  }}
                  title={`request ${formatClock(a.requested_at_ms)} → ${answered ? `response ${formatClock(a.responded_at_ms)} (${formatLatency(a.latency_ms)})` : "no answer (timeout / unknown)"}`}
                >
                  <span className="lane-bar-text">
                    {answered ? formatLatency(a.latency_ms) : "no answer"}
                  </span>
                </span>
                {marks(detail.events.filter((e) => e.attempt_id === a.id))}
              </div>
            </div>
          );
        })}
        <div className="lane-legend muted small">
          <span className="lane-mark-inline mark-status" /> status change <span className="lane-mark-inline mark-webhook_ok" /> provider
          webhook valid <span className="lane-mark-inline mark-webhook_rejected" /> rejected{" "}
          <span className="lane-mark-inline mark-reconciler" /> reconciler <span className="lane-mark-inline mark-merchant_webhook" /> merchant
          webhook delivery · bar = request → response
        </div>
      </div>
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
                  {eventKind(e) === "webhook_rejected" && <Badge tone="bad">rejected</Badge>}
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
      <ChargeSummary detail={detail} />
      <Lanes detail={detail} />
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
