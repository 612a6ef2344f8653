import { useCallback, useEffect, useState } from "react";
import type { CommandError } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { ErrorBanner } from "../components/ErrorBanner";
import { PeriodPicker } from "../components/PeriodPicker";
import { formatCount, formatLatency, formatRate, formatUtc } from "../format";
import type { PeriodKey, SuccessChart } from "../types";

export const CHART_WIDTH = 960;
export const CHART_HEIGHT = 360;

/** The chart as an image source: an <img> never runs anything embedded in the SVG. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export function Charts({ period, setPeriod }: { period: PeriodKey; setPeriod: (p: PeriodKey) => void }) {
  const backend = useBackend();
  const [chart, setChart] = useState<SuccessChart | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const [exporting, setExporting] = useState<"svg" | "png" | null>(null);
  const [exportPath, setExportPath] = useState("");

  const load = useCallback(async () => {
    setError(null);
    try {
      setChart(await backend.successChart(period, CHART_WIDTH, CHART_HEIGHT));
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend, period]);

  useEffect(() => {
    void load();
  }, [load]);

  const doExport = async (format: "svg" | "png") => {
    setExporting(format);
    setExported(null);
    try {
      const path = await backend.exportChart(period, format, exportPath.trim() === "" ? null : exportPath.trim());
      setExported(path);
      setError(null);
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      setExporting(null);
    }
  };

  return (
    <section className="view">
      <div className="view-head">
        <h2>Success rates</h2>
        <div className="view-meta">
          {chart !== null && (
            <span className="muted">
              {formatUtc(chart.from_ms)} → {formatUtc(chart.to_ms)} UTC
            </span>
          )}
          <PeriodPicker value={period} onChange={setPeriod} />
        </div>
      </div>
      {error !== null && <ErrorBanner error={error} title="Chart failed:" onRetry={() => void load()} />}
      {chart === null && error === null && <div className="placeholder">Rendering chart…</div>}
      {chart !== null && (
        <>
          <section className="panel chart-panel">
            <h3 className="panel-title">Approval rate per connector over time</h3>
            <img
              className="chart-img"
              data-testid="success-chart"
              src={svgDataUrl(chart.svg)}
              width={CHART_WIDTH}
              height={CHART_HEIGHT}
              alt="approval rate per connector over time"
            />
            <p className="definition" data-testid="rate-definition">
              <strong>Approval rate</strong> = {chart.definition}
            </p>
            <div className="export-bar">
              <input
                className="export-path"
                data-testid="export-path"
                placeholder="Save to (directory or file path); empty = your Downloads directory"
                value={exportPath}
                onChange={(e) => setExportPath(e.target.value)}
                spellCheck={false}
              />
              <button
                type="button"
                className="btn"
                data-testid="export-svg"
                disabled={exporting !== null}
                onClick={() => void doExport("svg")}
              >
                {exporting === "svg" ? "Exporting…" : "Export SVG"}
              </button>
              <button
                type="button"
                className="btn"
                data-testid="export-png"
                disabled={exporting !== null}
                onClick={() => void doExport("png")}
              >
                {exporting === "png" ? "Exporting…" : "Export PNG"}
              </button>
            </div>
            {exported !== null && (
              <div className="flash" role="status" data-testid="export-done">
                Saved to <code>{exported}</code>
              </div>
            )}
          </section>
          <section className="panel">
            <h3 className="panel-title">Per connector in the period</h3>
            <table className="table" data-testid="chart-series">
              <thead>
                <tr>
                  <th>Connector</th>
                  <th className="num">Attempts</th>
                  <th className="num">Approval rate</th>
                  <th className="num">Traffic share</th>
                  <th className="num">p95 latency</th>
                </tr>
              </thead>
              <tbody>
                {chart.series.map((s) => (
                  <tr key={s.connector_id} data-testid="series-row" data-name={s.name}>
                    <td>{s.name}</td>
                    <td className="num mono">{formatCount(s.attempts)}</td>
                    <td className="num mono">{formatRate(s.approval_rate)}</td>
                    <td className="num">
                      <span className="share-bar" style={{ width: `${Math.round(s.traffic_share * 100)}%` }} />
                      <span className="mono">{formatRate(s.traffic_share)}</span>
                    </td>
                    <td className="num mono">{formatLatency(s.p95_latency_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </section>
  );
}
