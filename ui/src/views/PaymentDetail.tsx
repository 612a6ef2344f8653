import { useCallback, useEffect, useState } from "react";
import type { AttemptView, CommandError, EventView, MerchantWebhookView, RouteTrace } from "../bindings";
import type { PaymentTimeline, TimelineMark } from "../types";
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

const MARK_LABEL: Record<string, string> = {
  route_decided: "route decided",
  request_sent: "request sent",
  response: "response",
  timeout: "timeout / no answer",
  classified: "classified",
  fallback_decision: "fallback decision",
  reconciled: "reconciler result",
  provider_webhook: "provider webhook (valid)",
  provider_webhook_rejected: "provider webhook (REJECTED)",
  merchant_webhook: "merchant webhook delivery",
  status_changed: "status change",
  event: "event",
};

/** "Was the customer charged twice, and where?" from the backend's charge summary. */
export function ChargeSummaryView({ timeline }: { timeline: PaymentTimeline }) {
  const c = timeline.charges;
  const d = timeline.detail;
  const s = d.summary;
  const tone = c.possible_double_charge ? "bad" : c.charged_attempts === 1 ? "good" : c.holds.length > 0 ? "warn" : "muted";
  return (
    <section
      className={`panel charge-summary tone-border-${tone}`}
      data-testid="charge-summary"
      data-charges={c.charged_attempts}
      data-double={c.possible_double_charge}
    >
      <h3 className="panel-title">Charged where? Charged twice?</h3>
      <div className={`charge-verdict tone-${tone}`} data-testid="charge-verdict">
        {c.possible_double_charge ? "⚠ " : ""}
        {c.verdict}
      </div>
      {c.holds.length > 0 && (
        <table className="table small">
          <thead>
            <tr>
              <th style={{ width: 70 }}>Attempt</th>
              <th>Connector</th>
              <th>Provider reference</th>
              <th className="num">Amount</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {c.holds.map((h) => (
              <tr key={h.attempt_id} data-testid="charge-row" data-state={h.state}>
                <td className="mono">#{h.seq}</td>
                <td>{h.connector_name}</td>
                <td>{h.provider_reference ? <Copyable value={h.provider_reference} label="provider reference" /> : "—"}</td>
                <td className="num mono">{formatMinor(h.amount_minor, s.currency, s.amount_display)}</td>
                <td>{h.state === "charged" ? <Badge tone="good">charged</Badge> : <Badge tone="warn">possibly charged</Badge>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="muted small">
        Final state: <strong>{humanize(s.status)}</strong> · captured {formatMinor(d.captured_minor, s.currency, s.amount_display)} ·
        refunded {formatMinor(d.refunded_minor, s.currency, s.amount_display)}
      </div>
    </section>
  );
}

function Mark({ m, pos }: { m: TimelineMark; pos: (t: number) => string }) {
  return (
    <span
      className={`lane-mark mark-${m.kind}`}
      style={{ left: pos(m.at_ms) }}
      data-testid="lane-mark"
      data-kind={m.kind}
      title={`${formatClock(m.at_ms)} UTC · ${MARK_LABEL[m.kind] ?? m.kind} · ${m.label}${m.detail ? ` — ${m.detail}` : ""}`}
    />
  );
}

function MarkList({ marks, start }: { marks: TimelineMark[]; start: number }) {
  return (
    <ol className="mark-list">
      {marks.map((m, i) => (
        <li key={i} className={`mark-item mark-item-${m.kind}`} data-testid="mark-item" data-kind={m.kind}>
          <span className="mono muted">+{formatLatency(m.at_ms - start)}</span>{" "}
          <span className={`lane-mark-inline mark-${m.kind}`} /> <strong>{m.label}</strong>
          {m.detail ? <span className="muted"> — {m.detail}</span> : null}
        </li>
      ))}
    </ol>
  );
}

/** Every attempt (and the payment itself) as a lane on ONE shared time axis. */
export function Lanes({ timeline }: { timeline: PaymentTimeline }) {
  const start = timeline.start_ms;
  const span = Math.max(1, timeline.end_ms - start);
  const pos = (t: number) => `${Math.max(0, Math.min(100, ((t - start) / span) * 100)).toFixed(2)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => start + f * span);
  return (
    <section className="panel" data-testid="lanes">
      <h3 className="panel-title">
        Timelines on one time axis{" "}
        <span className="muted">
          (0 = {formatClock(start)} UTC · span {formatLatency(span)} · one lane per attempt)
        </span>
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
            <span className="muted">route · status · merchant webhooks</span>
          </span>
          <div className="lane-track">
            {timeline.payment_marks.map((m, i) => (
              <Mark key={i} m={m} pos={pos} />
            ))}
          </div>
        </div>
        {timeline.lanes.map(({ attempt: a, marks }) => {
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
                    width: answered
                      ? `max(calc(${pos(a.responded_at_ms ?? a.requested_at_ms)} - ${pos(a.requested_at_ms)}), 4px)`
                      : undefined,
                    right: answered ? undefined : 0,
                  }}
                  title={`request ${formatClock(a.requested_at_ms)} → ${answered ? `response ${formatClock(a.responded_at_ms)} (${formatLatency(a.latency_ms)})` : "no answer (timeout / unknown)"}`}
                >
                  <span className="lane-bar-text">{answered ? formatLatency(a.latency_ms) : "no answer"}</span>
                </span>
                {marks.map((m, i) => (
                  <Mark key={i} m={m} pos={pos} />
                ))}
              </div>
            </div>
          );
        })}
      </div>
      <div className="lane-columns" style={{ gridTemplateColumns: `repeat(${timeline.lanes.length + 1}, minmax(0, 1fr))` }}>
        <div data-testid="lane-steps" data-lane="payment">
          <div className="kv-label">Payment</div>
          <MarkList marks={timeline.payment_marks} start={start} />
        </div>
        {timeline.lanes.map(({ attempt: a, marks }) => (
          <div key={a.id} data-testid="lane-steps" data-lane={`attempt-${a.seq}`}>
            <div className="kv-label">
              #{a.seq} {a.connector_name}
            </div>
            <MarkList marks={marks} start={start} />
          </div>
        ))}
      </div>
    </section>
  );
}

/** The merchant webhooks of the payment, every delivery attempt, and a Replay button. */
export function MerchantWebhooks({ paymentId }: { paymentId: string }) {
  const backend = useBackend();
  const [hooks, setHooks] = useState<MerchantWebhookView[] | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [replayed, setReplayed] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const load = useCallback(async () => {
    try {
      setHooks(await backend.merchantWebhooks(paymentId));
      setError(null);
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, paymentId]);
  useEffect(() => {
    void load();
  }, [load]);
  const replay = async (id: number) => {
    setBusy(id);
    try {
      const d = await backend.replayMerchantWebhook(id);
      setReplayed(
        `Replayed: ${d.status_code !== null ? `HTTP ${d.status_code}` : (d.error ?? "no answer")} in ${formatLatency(d.latency_ms)}.`,
      );
      await load();
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="panel" data-testid="merchant-webhooks">
      <h3 className="panel-title">Merchant webhook deliveries</h3>
      {error !== null && <ErrorBanner error={error} title="Merchant webhooks:" />}
      {replayed !== null && (
        <div className="flash" role="status" data-testid="replayed">
          {replayed}
        </div>
      )}
      {hooks !== null && hooks.length === 0 && <div className="muted">No merchant webhook for this payment.</div>}
      {hooks !== null && hooks.length > 0 && (
        <table className="table small">
          <thead>
            <tr>
              <th>Event</th>
              <th>Status</th>
              <th className="num">Attempts</th>
              <th>Deliveries (UTC · HTTP · latency · source)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hooks.map((h) => (
              <tr key={h.id} data-testid="merchant-webhook" data-status={h.status}>
                <td className="mono">{h.event_type}</td>
                <td>
                  <Badge tone={h.status === "delivered" ? "good" : h.status === "failed" ? "bad" : "warn"}>{h.status}</Badge>
                </td>
                <td className="num">{h.attempts}</td>
                <td>
                  {h.deliveries.map((d) => (
                    <div key={d.id} className="mono">
                      {formatClock(d.at_ms)} · {d.status_code ?? "—"} · {formatLatency(d.latency_ms)} · {d.source}
                      {d.actor ? ` (${d.actor})` : ""}
                      {d.error ? ` · ${d.error}` : ""}
                    </div>
                  ))}
                </td>
                <td>
                  <button
                    type="button"
                    className="btn btn-small"
                    data-testid="replay-webhook"
                    disabled={busy !== null}
                    onClick={() => void replay(h.id)}
                  >
                    {busy === h.id ? "Replaying…" : "Replay"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
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

export function PaymentDetailBody({ timeline }: { timeline: PaymentTimeline }) {
  const detail = timeline.detail;
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
      <ChargeSummaryView timeline={timeline} />
      <Lanes timeline={timeline} />
      <RouteTraceView route={detail.route} />
      <AttemptsView attempts={detail.attempts} />
      <MerchantWebhooks paymentId={s.id} />
      <Timeline events={detail.events} />
    </div>
  );
}

export function PaymentDetailView({ id, onBack }: { id: string; onBack: () => void }) {
  const backend = useBackend();
  const [timeline, setTimeline] = useState<PaymentTimeline | null>(null);
  const [error, setError] = useState<CommandError | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setTimeline(await backend.paymentTimeline(id));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, id]);

  useEffect(() => {
    setTimeline(null);
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
      {timeline === null && error === null && <div className="placeholder">Loading payment…</div>}
      {timeline !== null && <PaymentDetailBody timeline={timeline} />}
    </section>
  );
}
