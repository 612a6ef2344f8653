import { useCallback, useEffect, useMemo, useState } from "react";
import type { CommandError, RouteTrace } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatCount, formatRate, formatUtc, shortId } from "../format";
import {
  FIELDS,
  OPS,
  lineDiff,
  newRule,
  parsePolicy,
  parseValue,
  toJson,
  valueText,
  type Condition,
  type Field,
  type Op,
  type Policy,
  type Rule,
} from "../policyModel";
import type { PolicyIssue, PolicyState, SimulationResult } from "../types";
import { RouteTraceView } from "./PaymentDetail";

type Tab = "form" | "json" | "diff";

/** The text the editor starts from: the saved draft, else the published policy, else an empty policy. */
export function draftOf(s: PolicyState): string {
  return s.draft?.json ?? s.published?.json ?? JSON.stringify({ rules: [], max_attempts: 3 }, null, 2);
}

/** Before/after first-connector shares joined by connector name. */
export function shareRows(sim: SimulationResult): { name: string; before: number; after: number }[] {
  const names = [...new Set([...sim.share_before.map((r) => r.name), ...sim.share_after.map((r) => r.name)])];
  return names.map((name) => ({
    name,
    before: sim.share_before.find((r) => r.name === name)?.share ?? 0,
    after: sim.share_after.find((r) => r.name === name)?.share ?? 0,
  }));
}

export const EXAMPLE_CONTEXT = JSON.stringify(
  {
    amount: 4250,
    currency: "USD",
    capture_method: "automatic",
    payment_method: {
      type: "card",
      card_brand: "visa",
      tokens: [
        { token: "pm_card_visa", scope: { type: "provider", provider: "stripe" } },
        { token: "sim_approve", scope: { type: "provider", provider: "simulator" } },
      ],
    },
    billing: { country: "US" },
  },
  null,
  2,
);

function ConditionRow({
  c,
  onChange,
  onRemove,
}: {
  c: Condition;
  onChange: (c: Condition) => void;
  onRemove: () => void;
}) {
  const [text, setText] = useState(valueText(c));
  return (
    <div className="cond-row" data-testid="condition">
      <select
        aria-label="Field"
        value={c.field}
        onChange={(e) => onChange({ ...c, field: e.target.value as Field, value: parseValue(e.target.value as Field, c.op, text) })}
      >
        {FIELDS.map((f) => (
          <option key={f}>{f}</option>
        ))}
      </select>
      {c.field === "metadata" && (
        <input
          aria-label="Metadata key"
          className="cond-key"
          value={c.key ?? ""}
          placeholder="key"
          onChange={(e) => onChange({ ...c, key: e.target.value })}
        />
      )}
      <select
        aria-label="Operator"
        value={c.op}
        onChange={(e) => onChange({ ...c, op: e.target.value as Op, value: parseValue(c.field, e.target.value as Op, text) })}
      >
        {OPS.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
      <input
        aria-label="Value"
        className="cond-value"
        value={text}
        placeholder={c.op === "between" ? "low..high" : c.op.endsWith("in") ? "a, b, c" : "value"}
        onChange={(e) => {
          setText(e.target.value);
          onChange({ ...c, value: parseValue(c.field, c.op, e.target.value) });
        }}
      />
      <button type="button" className="btn btn-small btn-ghost" aria-label="Remove condition" onClick={onRemove}>
        ✕
      </button>
    </div>
  );
}

function RuleEditor({
  rule,
  index,
  count,
  connectors,
  issues,
  onChange,
  onRemove,
  onMove,
}: {
  rule: Rule;
  index: number;
  count: number;
  connectors: { id: string; name: string }[];
  issues: PolicyIssue[];
  onChange: (r: Rule) => void;
  onRemove: () => void;
  onMove: (delta: number) => void;
}) {
  const path = rule.action.type === "path" ? rule.action.connectors : rule.action.weights.map(([id]) => id);
  const nameOf = (id: string) => connectors.find((c) => c.id === id)?.name ?? `unknown ${shortId(id)}`;
  const setPath = (ids: string[]) =>
    onChange({
      ...rule,
      action:
        rule.action.type === "path"
          ? { type: "path", connectors: ids }
          : { type: "split", weights: ids.map((id) => [id, rule.action.type === "split" ? (rule.action.weights.find(([w]) => w === id)?.[1] ?? 1) : 1]) },
    });
  return (
    <article className={`card rule-card${issues.length > 0 ? " has-issue" : ""}`} data-testid="rule">
      <header className="rule-head">
        <span className="rule-index">#{index + 1}</span>
        <input
          aria-label="Rule name"
          className="rule-name"
          data-testid="rule-name"
          value={rule.name}
          onChange={(e) => onChange({ ...rule, name: e.target.value })}
        />
        <button type="button" className="btn btn-small" disabled={index === 0} onClick={() => onMove(-1)} aria-label="Move up">
          ↑
        </button>
        <button type="button" className="btn btn-small" disabled={index === count - 1} onClick={() => onMove(1)} aria-label="Move down">
          ↓
        </button>
        <button type="button" className="btn btn-small btn-warn" onClick={onRemove} data-testid="remove-rule">
          Remove
        </button>
      </header>
      <div className="rule-body">
        <div className="rule-section">
          <span className="kv-label">When (all of)</span>
          {rule.conditions.length === 0 && <span className="muted">always (no condition)</span>}
          {rule.conditions.map((c, i) => (
            <ConditionRow
              key={i}
              c={c}
              onChange={(nc) => onChange({ ...rule, conditions: rule.conditions.map((o, j) => (j === i ? nc : o)) })}
              onRemove={() => onChange({ ...rule, conditions: rule.conditions.filter((_, j) => j !== i) })}
            />
          ))}
          <button
            type="button"
            className="btn btn-small"
            data-testid="add-condition"
            onClick={() =>
              onChange({ ...rule, conditions: [...rule.conditions, { field: "currency", op: "eq", value: "USD" }] })
            }
          >
            + condition
          </button>
        </div>
        <div className="rule-section">
          <span className="kv-label">Route ({rule.action.type === "path" ? "ordered path" : "weighted split"})</span>
          <ol className="path-list">
            {path.map((id, i) => (
              <li key={`${id}-${i}`} className={connectors.some((c) => c.id === id) ? "" : "unknown"}>
                {nameOf(id)}
                {rule.action.type === "split" && (
                  <span className="muted"> · weight {rule.action.weights[i]?.[1] ?? 0}</span>
                )}
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  aria-label={`Remove ${nameOf(id)}`}
                  onClick={() => setPath(path.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </li>
            ))}
          </ol>
          {path.length === 0 && <span className="form-invalid">empty path</span>}
          <select
            aria-label="Add connector"
            data-testid="add-connector"
            value=""
            onChange={(e) => e.target.value !== "" && setPath([...path, e.target.value])}
          >
            <option value="">+ connector…</option>
            {connectors.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {issues.map((i, k) => (
        <div key={k} className="form-invalid" data-testid="rule-issue" data-code={i.code}>
          <code>{i.code}</code> {i.message}
        </div>
      ))}
    </article>
  );
}

export function Policies() {
  const backend = useBackend();
  const [state, setState] = useState<PolicyState | null>(null);
  const [draft, setDraft] = useState<string>("");
  const [tab, setTab] = useState<Tab>("form");
  const [issues, setIssues] = useState<PolicyIssue[] | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [days, setDays] = useState("7");
  const [sim, setSim] = useState<SimulationResult | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [published, setPublished] = useState<string | null>(null);
  const [context, setContext] = useState(EXAMPLE_CONTEXT);
  const [explained, setExplained] = useState<RouteTrace | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const s = await backend.policyState();
      setState(s);
      setDraft(draftOf(s));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend]);

  useEffect(() => {
    void load();
  }, [load]);

  const parsed = useMemo(() => parsePolicy(draft), [draft]);

  // Validate the draft (debounced) whenever it changes and parses.
  useEffect(() => {
    if (!parsed.ok || state === null) {
      setIssues(null);
      return;
    }
    const t = window.setTimeout(async () => {
      try {
        setIssues((await backend.validatePolicy(draft)).issues);
      } catch (e) {
        setError(toCommandError(e));
      }
    }, 300);
    return () => window.clearTimeout(t);
  }, [draft, parsed.ok, state, backend]);

  const setPolicy = (p: Policy) => setDraft(toJson(p));
  const connectors = state?.connectors ?? [];

  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      setBusy(null);
    }
  };

  const simulate = () =>
    run("simulate", async () => {
      const n = Number(days);
      if (!Number.isInteger(n) || n < 1 || n > 90) throw { code: "invalid_days", message: "N must be 1 to 90 days." };
      setSim(await backend.simulatePolicy(draft, n));
    });

  const publish = () =>
    run("publish", async () => {
      const s = await backend.publishPolicy(draft, note.trim());
      setState(s);
      setDraft(draftOf(s));
      setConfirming(false);
      setNote("");
      setPublished(`Published version ${s.published?.version ?? "?"}.`);
    });

  const explain = () =>
    run("explain", async () => {
      setExplained(await backend.explainRoute(context, parsed.ok ? draft : null));
    });

  const publishedJson = state?.published?.json ?? "";
  const dirty = state !== null && draft.trim() !== publishedJson.trim();
  const generalIssues = (issues ?? []).filter((i) => i.rule === null);
  const blocking = !parsed.ok || (issues ?? []).length > 0;

  return (
    <section className="view">
      <div className="view-head">
        <h2>Policies</h2>
        <div className="view-meta">
          {state !== null && (
            <span className="muted">
              {state.mode} · published v{state.published?.version ?? "—"}
              {state.published?.note ? ` · “${state.published.note}”` : ""}
              {state.published?.published_at_ms ? ` · ${formatUtc(state.published.published_at_ms)} UTC` : ""} · draft{" "}
              {dirty ? "differs" : "= published"}
            </span>
          )}
        </div>
      </div>
      {error !== null && <ErrorBanner error={error} title="Policies:" />}
      {published !== null && (
        <div className="flash" role="status" data-testid="published">
          {published}
        </div>
      )}
      {state === null && error === null && <div className="placeholder">Loading policy…</div>}
      {state !== null && (
        <>
          <div className="tabs" role="tablist">
            {(["form", "json", "diff"] as Tab[]).map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                aria-selected={tab === t}
                className={`tab${tab === t ? " active" : ""}`}
                data-testid={`tab-${t}`}
                onClick={() => setTab(t)}
              >
                {t === "form" ? "Rules" : t === "json" ? "JSON" : "Diff vs published"}
              </button>
            ))}
          </div>
          <section className="panel" data-testid="validation">
            {!parsed.ok ? (
              <div className="form-invalid">{parsed.error}</div>
            ) : issues === null ? (
              <span className="muted">Validating…</span>
            ) : issues.length === 0 ? (
              <span className="tone-good" data-testid="policy-valid">
                ✓ The draft is valid.
              </span>
            ) : (
              <div data-testid="policy-issues">
                <strong>{issues.length} problem{issues.length === 1 ? "" : "s"}:</strong>
                <ul>
                  {issues.map((i, k) => (
                    <li key={k} data-testid="policy-issue" data-code={i.code}>
                      {i.rule !== null && <span className="muted">rule #{i.rule + 1}: </span>}
                      <code>{i.code}</code> {i.message}
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </section>
          {tab === "form" &&
            (parsed.ok ? (
              <div className="rules" data-testid="rule-form">
                {generalIssues.length > 0 && null}
                {parsed.policy.rules.map((r, i) => (
                  <RuleEditor
                    key={i}
                    rule={r}
                    index={i}
                    count={parsed.policy.rules.length}
                    connectors={connectors}
                    issues={(issues ?? []).filter((x) => x.rule === i)}
                    onChange={(nr) => setPolicy({ ...parsed.policy, rules: parsed.policy.rules.map((o, j) => (j === i ? nr : o)) })}
                    onRemove={() => setPolicy({ ...parsed.policy, rules: parsed.policy.rules.filter((_, j) => j !== i) })}
                    onMove={(d) => {
                      const rules = [...parsed.policy.rules];
                      const [moved] = rules.splice(i, 1);
                      if (moved !== undefined) rules.splice(i + d, 0, moved);
                      setPolicy({ ...parsed.policy, rules });
                    }}
                  />
                ))}
                {parsed.policy.rules.length === 0 && (
                  <div className="placeholder">No rule: every payment takes the weighted default route.</div>
                )}
                <button
                  type="button"
                  className="btn"
                  data-testid="add-rule"
                  onClick={() => setPolicy({ ...parsed.policy, rules: [...parsed.policy.rules, newRule(connectors[0]?.id)] })}
                >
                  + rule
                </button>
              </div>
            ) : (
              <div className="placeholder">Fix the JSON to use the form.</div>
            ))}
          {tab === "json" && (
            <textarea
              className="json-editor mono"
              data-testid="policy-json"
              value={draft}
              spellCheck={false}
              rows={24}
              onChange={(e) => setDraft(e.target.value)}
            />
          )}
          {tab === "diff" && (
            <pre className="diff panel" data-testid="policy-diff">
              {lineDiff(publishedJson, draft).map((l, i) => (
                <div key={i} className={`diff-${l.kind}`}>
                  {l.kind === "add" ? "+ " : l.kind === "del" ? "- " : "  "}
                  {l.text}
                </div>
              ))}
            </pre>
          )}
          <div className="policy-tools">
            <section className="panel">
              <h3 className="panel-title">Simulate the draft</h3>
              <div className="export-bar">
                <label>
                  on the last{" "}
                  <input
                    className="days-input"
                    data-testid="sim-days"
                    value={days}
                    onChange={(e) => setDays(e.target.value)}
                    inputMode="numeric"
                  />{" "}
                  days
                </label>
                <button
                  type="button"
                  className="btn"
                  data-testid="simulate"
                  disabled={!parsed.ok || busy !== null}
                  onClick={() => void simulate()}
                >
                  {busy === "simulate" ? "Simulating…" : "Simulate"}
                </button>
              </div>
              {sim !== null && (
                <div data-testid="simulation">
                  <p>
                    {formatCount(sim.payments)} payments of the last {sim.days} days re-routed:{" "}
                    <strong data-testid="sim-changed">{formatCount(sim.changed_count)}</strong> would take a different
                    path.
                  </p>
                  <p className="muted small">{sim.approach}</p>
                  <table className="table">
                    <thead>
                      <tr>
                        <th>Connector</th>
                        <th className="num">Share now</th>
                        <th className="num">Share with draft</th>
                      </tr>
                    </thead>
                    <tbody>
                      {shareRows(sim).map((s) => (
                        <tr key={s.name} data-testid="sim-share">
                          <td>{s.name}</td>
                          <td className="num mono">{formatRate(s.before)}</td>
                          <td className="num mono">{formatRate(s.after)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {sim.changed.length > 0 && (
                    <table className="table small">
                      <thead>
                        <tr>
                          <th>Payment</th>
                          <th>Created (UTC)</th>
                          <th>Path now</th>
                          <th>Path with draft</th>
                        </tr>
                      </thead>
                      <tbody>
                        {sim.changed.slice(0, 50).map((c) => (
                          <tr key={c.payment_id} data-testid="sim-change">
                            <td className="mono" title={c.payment_id}>
                              {shortId(c.payment_id)}
                            </td>
                            <td className="mono">{formatUtc(c.created_at_ms)}</td>
                            <td>{c.before.join(" → ") || "—"}</td>
                            <td>{c.after.join(" → ") || "—"}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </div>
              )}
            </section>
            <section className="panel">
              <h3 className="panel-title">Publish</h3>
              {!confirming ? (
                <div className="export-bar">
                  <input
                    className="export-path"
                    data-testid="publish-note"
                    placeholder="Note (required): why this change"
                    value={note}
                    onChange={(e) => setNote(e.target.value)}
                  />
                  <button
                    type="button"
                    className="btn btn-primary"
                    data-testid="publish"
                    disabled={blocking || note.trim().length < 3 || !dirty}
                    title={blocking ? "fix the problems first" : !dirty ? "the draft equals the published policy" : ""}
                    onClick={() => setConfirming(true)}
                  >
                    Publish…
                  </button>
                </div>
              ) : (
                <div className="confirm" data-testid="publish-confirm">
                  <span>
                    Publish this draft as the live policy? Every next payment is routed by it. Note: “{note.trim()}”
                  </span>
                  <button
                    type="button"
                    className="btn btn-primary"
                    data-testid="publish-confirm-yes"
                    disabled={busy !== null}
                    onClick={() => void publish()}
                  >
                    {busy === "publish" ? "Publishing…" : "Yes, publish"}
                  </button>
                  <button type="button" className="btn btn-ghost" onClick={() => setConfirming(false)}>
                    Cancel
                  </button>
                </div>
              )}
            </section>
          </div>
          <section className="panel" data-testid="policies-explain">
            <h3 className="panel-title">Explain route (dry run: a POST /v1/payments body; nothing is charged, roll 0.5 for weighted picks)</h3>
            <div className="explain">
              <textarea
                className="json-editor mono"
                data-testid="explain-context"
                rows={9}
                value={context}
                spellCheck={false}
                onChange={(e) => setContext(e.target.value)}
              />
              <button
                type="button"
                className="btn"
                data-testid="explain"
                disabled={busy !== null}
                onClick={() => void explain()}
              >
                {busy === "explain" ? "Explaining…" : "Explain with the draft"}
              </button>
            </div>
            {explained !== null && <RouteTraceView route={explained} />}
          </section>
        </>
      )}
    </section>
  );
}
