import { useCallback, useEffect, useState } from "react";
import type { CommandError } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { PeriodPicker } from "../components/PeriodPicker";
import { formatCount, formatDuration, formatLatency, formatRate, formatUtc } from "../format";
import type { ChartFormat, ChartKind, ConnectorSeries, PeriodKey, SuccessRateCharts } from "../types";

/** The chart as an image source: an <img> never runs anything embedded in the SVG. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** Period totals of one connector: approval over all counted calls, share of all counted calls, worst bucket p95. */
export function totals(s: ConnectorSeries, allCounted: number) {
  const approved = s.approved.reduce((a, b) => a + b, 0);
  const counted = s.counted.reduce((a, b) => a + b, 0);
  const p95s = s.p95_latency_ms.filter((v): v is number => v !== null);
  return {
    approved,
    counted,
    approval: counted > 0 ? approved / counted : null,
    share: allCounted > 0 ? counted / allCounted : null,
    p95: p95s.length > 0 ? Math.max(...p95s) : null,
  };
}

const CHARTS: { kind: ChartKind; title: string; svg: (c: SuccessRateCharts) => string }[] = [
  { kind: "approval_rate", title: "Approval rate per connector", svg: (c) => c.approval_svg },
  { kind: "traffic_share", title: "Traffic share", svg: (c) => c.share_svg },
  { kind: "p95_latency", title: "p95 latency", svg: (c) => c.latency_svg },
];

export function Charts({ period, setPeriod }: { period: PeriodKey; setPeriod: (p: PeriodKey) => void }) {
  const backend = useBackend();
  const [charts, setCharts] = useState<SuccessRateCharts | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const [exportPath, setExportPath] = useState("");

  const load = useCallback(async () => {
    setError(null);
    try {
      setCharts(await backend.successCharts(period));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, period]);

  useEffect(() => {
    void load();
  }, [load]);

  const doExport = async (kind: ChartKind, format: ChartFormat) => {
    setExporting(`${kind}.${format}`);
    setExported(null);
    try {
      const path = await backend.exportChart(period, kind, format, exportPath.trim() === "" ? null : exportPath.trim());
      setExported(path);
      setError(null);
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      setExporting(null);
    }
  };

  const series = charts?.series ?? null;
  const allCounted = series?.connectors.reduce((sum, s) => sum + s.counted.reduce((a, b) => a + b, 0), 0) ?? 0;

  return (
    <section className="view">
      <div className="view-head">
        <h2>Success rates</h2>
        <div className="view-meta">
          {series !== null && (
            <span className="muted">
              {formatUtc(series.start_ms)} → {formatUtc(series.start_ms + series.bucket_ms * series.buckets)} UTC ·{" "}
              {series.buckets} bucket{series.buckets === 1 ? "" : "s"} of {formatDuration(series.bucket_ms)}
            </span>
          )}
          <PeriodPicker value={period} onChange={setPeriod} />
        </div>
      </div>
      {error !== null && <ErrorBanner error={error} title="Charts:" onRetry={() => void load()} />}
      {charts === null && error === null && <div className="placeholder">Rendering charts…</div>}
      {charts !== null && series !== null && (
        <>
          <p className="definition panel" data-testid="rate-definition">
            {series.definition}
          </p>
          <div className="export-bar panel">
            <span>Export to</span>
            <input
              className="export-path"
              data-testid="export-path"
              placeholder="a directory or file path; empty = your Downloads directory"
              value={exportPath}
              onChange={(e) => setExportPath(e.target.value)}
              spellCheck={false}
            />
            {exported !== null && (
              <span className="flash" role="status" data-testid="export-done">
                Saved to <code>{exported}</code>
              </span>
            )}
          </div>
          <div className="chart-grid">
            {CHARTS.map((c) => (
              <section className="panel chart-panel" key={c.kind}>
                <div className="chart-head">
                  <h3 className="panel-title">{c.title}</h3>
                  <div className="chart-actions">
                    {(["svg", "png"] as ChartFormat[]).map((fmt) => (
                      <button
                        key={fmt}
                        type="button"
                        className="btn btn-small"
                        data-testid={`export-${c.kind}-${fmt}`}
                        disabled={exporting !== null}
                        onClick={() => void doExport(c.kind, fmt)}
                      >
                        {exporting === `${c.kind}.${fmt}` ? "Exporting…" : fmt.toUpperCase()}
                      </button>
                    ))}
                  </div>
                </div>
                <img className="chart-img" data-testid={`chart-${c.kind}`} src={svgDataUrl(c.svg(charts))} alt={c.title} />
              </section>
            ))}
            <section className="panel">
              <h3 className="panel-title">Per connector over the period</h3>
              <table className="table" data-testid="chart-series">
                <thead>
                  <tr>
                    <th>Connector</th>
                    <th className="num">Counted calls</th>
                    <th className="num">Approval rate</th>
                    <th className="num">Traffic share</th>
                    <th className="num">Worst p95</th>
                  </tr>
                </thead>
                <tbody>
                  {series.connectors.map((s) => {
                    const t = totals(s, allCounted);
                    return (
                      <tr key={s.connector_id} data-testid="series-row" data-name={s.name}>
                        <td>{s.name}</td>
                        <td className="num mono">{formatCount(t.counted)}</td>
                        <td className="num mono">{formatRate(t.approval)}</td>
                        <td className="num">
                          <span className="share-bar" style={{ width: `${Math.round((t.share ?? 0) * 80)}px` }} />
                          <span className="mono">{formatRate(t.share)}</span>
                        </td>
                        <td className="num mono">{formatLatency(t.p95)}</td>
                      </tr>
                    );
                  })}
                  {series.connectors.length === 0 && (
                    <tr>
                      <td colSpan={5} className="muted">
                        No provider calls in this period.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </section>
          </div>
        </>
      )}
    </section>
  );
}
