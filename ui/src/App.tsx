import { useCallback, useEffect, useState } from "react";
import type { AppInfo, CommandError } from "./bindings";
import { toCommandError } from "./backend";
import { useBackend } from "./context";
import { ErrorBanner } from "./components/ErrorBanner";
import type { PeriodKey } from "./types";
import { Audit } from "./views/Audit";
import { Charts } from "./views/Charts";
import { Connectors } from "./views/Connectors";
import { FallbackMatrixView, type MatrixDrill } from "./views/FallbackMatrix";
import { Finance } from "./views/Finance";
import { PaymentDetailView } from "./views/PaymentDetail";
import { Payments, emptyFilters, initialPaymentsState, type PaymentsState } from "./views/Payments";
import { Policies } from "./views/Policies";
import { Security } from "./views/Security";

export type ViewName = "connectors" | "payments" | "matrix" | "charts" | "finance" | "policies" | "audit" | "security";

const NAV: { view: ViewName; label: string; hint: string; key: string }[] = [
  { view: "payments", label: "Payments", hint: "search · timelines", key: "1" },
  { view: "connectors", label: "Operators", hint: "live cards · drain · restore", key: "2" },
  { view: "matrix", label: "Fallback matrix", hint: "outcome class × connector", key: "3" },
  { view: "charts", label: "Success rates", hint: "charts · share · p95", key: "4" },
  { view: "finance", label: "Finance", hint: "volume per account · CSV", key: "5" },
  { view: "policies", label: "Policies", hint: "edit · simulate · publish", key: "6" },
  { view: "audit", label: "Audit", hint: "who changed what", key: "7" },
  { view: "security", label: "Security", hint: "master key · credentials", key: "8" },
];


type InfoState = { kind: "loading" } | { kind: "loaded"; info: AppInfo } | { kind: "failed"; error: CommandError };

function NotReady({ info, onRetry }: { info: AppInfo | null; error: CommandError; onRetry: () => void }) {
  return (
    <section className="view">
      <div className="panel setup-panel">
        <h2>The console is not connected</h2>
        <p>
          Switchboard reads its database from the environment of the console process. Fix the problem above, then
          retry (no restart is needed when only the database was unavailable).
        </p>
        <dl className="setup-list">
          <dt>
            <code>DATABASE_URL</code>
          </dt>
          <dd>
            required — <code>postgres://user:password@host:5432/database</code>
            {info?.database ? (
              <>
                {" "}
                (now: <code>{info.database}</code>)
              </>
            ) : null}
          </dd>
          <dt>
            <code>SWITCHBOARD_MERCHANT_ID</code>
          </dt>
          <dd>optional — the merchant to show; the oldest merchant otherwise</dd>
        </dl>
        <button type="button" className="btn btn-primary" onClick={onRetry}>
          Retry connection
        </button>
      </div>
    </section>
  );
}

export function App({ initialView = "connectors" }: { initialView?: ViewName }) {
  const backend = useBackend();
  const [infoState, setInfoState] = useState<InfoState>({ kind: "loading" });
  const [view, setView] = useState<ViewName>(initialView);
  const [paymentId, setPaymentId] = useState<string | null>(null);
  const [payments, setPayments] = useState<PaymentsState>(initialPaymentsState);
  const [period, setPeriod] = useState<PeriodKey>("24h");
  const [connectorNames, setConnectorNames] = useState<{ id: string; name: string }[]>([]);
  const [keyProblem, setKeyProblem] = useState<string | null>(null);

  const loadInfo = useCallback(async () => {
    setInfoState({ kind: "loading" });
    try {
      setInfoState({ kind: "loaded", info: await backend.appInfo() });
    } catch (e) {
      setInfoState({ kind: "failed", error: toCommandError(e) });
    }
  }, [backend]);

  useEffect(() => {
    void loadInfo();
  }, [loadInfo]);

  const ready = infoState.kind === "loaded" && infoState.info.ready;
  // Connector names for the search filter (best effort: the views report their own errors).
  useEffect(() => {
    if (!ready) return;
    backend
      .listConnectors()
      .then((list) => setConnectorNames(list.map((c) => ({ id: c.id, name: c.name }))))
      .catch(() => undefined);
  }, [ready, backend]);

  // First start: without the master key this desktop cannot decrypt credentials (re-checked on
  // every view change, so the banner goes once the key is set up).
  useEffect(() => {
    if (!ready) return;
    backend
      .vaultKeyState()
      .then((k) => setKeyProblem(k.state === "ready" ? null : k.message))
      .catch(() => undefined);
  }, [ready, backend, view]);

  // Alt+1..7 switch views from anywhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey) return;
      const n = NAV.find((x) => x.key === e.key);
      if (n !== undefined) {
        e.preventDefault();
        setView(n.view);
        setPaymentId(null);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const drill = useCallback((d: MatrixDrill) => {
    setPayments({ ...initialPaymentsState, filters: emptyFilters, base: { label: d.label, filter: d.filter } });
    setPaymentId(null);
    setView("payments");
  }, []);

  const info = infoState.kind === "loaded" ? infoState.info : null;
  const notReadyError: CommandError | null =
    infoState.kind === "failed"
      ? infoState.error
      : info !== null && !info.ready
        ? (info.error ?? { code: "not_ready", message: "the console is not connected" })
        : null;

  const go = (v: ViewName) => {
    setView(v);
    setPaymentId(null);
  };
  const closeDetail = useCallback(() => setPaymentId(null), []);

  let content: React.ReactNode;
  if (infoState.kind === "loading") {
    content = <div className="placeholder">Connecting to the database…</div>;
  } else if (notReadyError !== null) {
    content = <NotReady info={info} error={notReadyError} onRetry={() => void loadInfo()} />;
  } else if (view === "payments" && paymentId !== null) {
    content = <PaymentDetailView id={paymentId} onBack={closeDetail} />;
  } else if (view === "payments") {
    content = <Payments state={payments} setState={setPayments} onOpen={setPaymentId} connectors={connectorNames} />;
  } else if (view === "matrix") {
    content = <FallbackMatrixView period={period} setPeriod={setPeriod} onDrill={drill} />;
  } else if (view === "charts") {
    content = <Charts period={period} setPeriod={setPeriod} />;
  } else if (view === "finance") {
    content = <Finance period={period} setPeriod={setPeriod} />;
  } else if (view === "policies") {
    content = <Policies />;
  } else if (view === "audit") {
    content = <Audit />;
  } else if (view === "security") {
    content = <Security connectors={connectorNames} />;
  } else {
    content = <Connectors />;
  }

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden>
            S
          </span>
          Switchboard
        </div>
        <div className="topbar-info" data-testid="app-info">
          {info?.merchant_name ? (
            <span className="merchant" title={info.merchant_id ?? ""}>
              {info.merchant_name}
            </span>
          ) : (
            <span className="muted">no merchant</span>
          )}
          <span className="sep" />
          <span className="muted" title="database (no password)">
            db <code>{info?.database ?? "—"}</code>
          </span>
          <span className="sep" />
          <span className="muted">{info?.actor ?? ""}</span>
          {info && (
            <span className="badge badge-muted" title="build mode">
              {info.mode} · v{info.version}
            </span>
          )}
          <span
            className={`conn-dot ${info?.ready ? "ok" : infoState.kind === "loading" ? "wait" : "bad"}`}
            title={info?.ready ? "connected" : "not connected"}
          />
        </div>
      </header>
      <nav className="sidenav" aria-label="Views">
        {NAV.map((n) => (
          <button
            key={n.view}
            type="button"
            className={`nav-item${view === n.view ? " active" : ""}`}
            aria-current={view === n.view ? "page" : undefined}
            data-testid={`nav-${n.view}`}
            onClick={() => go(n.view)}
            title={`Alt+${n.key}`}
          >
            <span className="nav-label">{n.label}</span>
            <span className="nav-hint">{n.hint}</span>
          </button>
        ))}
      </nav>
      <main className="content">
        {notReadyError !== null && (
          <ErrorBanner error={notReadyError} title="Not connected:" onRetry={() => void loadInfo()} />
        )}
        {keyProblem !== null && view !== "security" && notReadyError === null && (
          <div className="key-banner" data-testid="key-banner">
            Master key not set up on this desktop: {keyProblem}{" "}
            <button type="button" className="btn btn-small" onClick={() => go("security")}>
              Set it up
            </button>
          </div>
        )}
        {content}
      </main>
    </div>
  );
}
