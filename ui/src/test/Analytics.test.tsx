import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import type { PeriodKey } from "../types";
import { describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { Charts, svgDataUrl } from "../views/Charts";
import { FallbackMatrixView } from "../views/FallbackMatrix";
import { Finance, byCurrency } from "../views/Finance";
import { PAGE_SIZE } from "../views/Payments";
import { charts, connectors, finance, mockBackend, matrix } from "./fixtures";
import { renderWith } from "./render";

describe("Fallback matrix", () => {
  it("shows count, policy action and saved-elsewhere per cell, and reloads on a new period", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    const onDrill = vi.fn();
    function Harness() {
      const [period, setPeriod] = useState<PeriodKey>("24h");
      return <FallbackMatrixView period={period} setPeriod={setPeriod} onDrill={onDrill} />;
    }
    renderWith(backend, <Harness />);
    const cells = await screen.findAllByTestId("matrix-cell");
    expect(cells).toHaveLength(3 * 3);
    const unavailable = cells.find((c) => c.dataset.class === "provider_unavailable" && c.dataset.connector === "Stripe US Primary")!;
    expect(unavailable).toHaveTextContent("120");
    expect(within(unavailable).getByTestId("succeeded-elsewhere")).toHaveTextContent("111 succeeded elsewhere");
    const actions = screen.getAllByTestId("policy-action");
    expect(actions.map((a) => a.dataset.action)).toEqual(["succeed", "stop", "fall_back"]);
    expect(actions[2]).toHaveTextContent("fall back to the next connector");
    const empty = cells.find((c) => c.dataset.connector === "Square Fallback" && c.dataset.class === "approved")!;
    expect(empty).toBeDisabled();

    await user.click(unavailable);
    // The cell hands over the backend's own search for its payments.
    expect(onDrill).toHaveBeenCalledWith({
      label: "provider unavailable on Stripe US Primary (matrix cell)",
      filter: matrix.rows[2]!.cells[0]!.search,
    });

    expect(backend.fallbackMatrix).toHaveBeenLastCalledWith("24h");
    await user.click(screen.getByTestId("period-7d"));
    await waitFor(() => expect(backend.fallbackMatrix).toHaveBeenLastCalledWith("7d"));
  });

  it("a cell opens the search list filtered to its payments (App)", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <App initialView="matrix" />);
    const cells = await screen.findAllByTestId("matrix-cell");
    await user.click(cells.find((c) => c.dataset.class === "provider_unavailable" && c.dataset.connector === "Stripe US Primary")!);
    await screen.findAllByTestId("payment-row");
    expect(backend.searchPage).toHaveBeenLastCalledWith(
      expect.objectContaining({ outcome: "provider_unavailable", connector_id: connectors[0]!.id, limit: PAGE_SIZE }),
    );
    expect(screen.getByTestId("base-filter")).toHaveTextContent("provider unavailable on Stripe US Primary");
  });
});

describe("Charts", () => {
  it("shows the three Rust SVGs as images, the definition and per-connector totals; exports say where", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Charts period="30d" setPeriod={() => {}} />);
    const img = await screen.findByTestId("chart-approval_rate");
    expect(img).toHaveAttribute("src", svgDataUrl(charts.approval_svg));
    expect(screen.getByTestId("chart-traffic_share")).toHaveAttribute("src", svgDataUrl(charts.share_svg));
    expect(screen.getByTestId("chart-p95_latency")).toHaveAttribute("src", svgDataUrl(charts.latency_svg));
    expect(backend.successCharts).toHaveBeenCalledWith("30d");
    expect(screen.getByTestId("rate-definition")).toHaveTextContent("approved / (approved + declined + failed)");
    const rows = screen.getAllByTestId("series-row");
    // Stripe US: 910 approved of 1000 counted; 1000 of 1250 counted calls overall; worst p95 420 ms.
    expect(rows[0]).toHaveTextContent("91.0%");
    expect(rows[0]).toHaveTextContent("80.0%");
    expect(rows[0]).toHaveTextContent("420 ms");
    expect(rows[1]).toHaveTextContent("100.0%");

    await user.click(screen.getByTestId("export-approval_rate-png"));
    expect(backend.exportChart).toHaveBeenCalledWith("30d", "approval_rate", "png", null);
    expect(await screen.findByTestId("export-done")).toHaveTextContent("/home/ana/Downloads/approval_rate-24h.png");
    await user.type(screen.getByTestId("export-path"), "/tmp/out");
    await user.click(screen.getByTestId("export-p95_latency-svg"));
    expect(backend.exportChart).toHaveBeenLastCalledWith("30d", "p95_latency", "svg", "/tmp/out");
  });

  it("svgDataUrl encodes so the SVG is never parsed as HTML", () => {
    expect(svgDataUrl("<svg><script>x</script></svg>")).not.toContain("<script>");
  });
});

describe("Finance", () => {
  it("groups accounts side by side per currency and exports CSV with progress", async () => {
    const user = userEvent.setup();
    let polls = 0;
    const backend = mockBackend({
      exportStatus: async () => {
        polls += 1;
        return polls < 2
          ? { job_id: "job-1", progress: { rows_done: 1500, rows_total: 3000 }, finished: false, path: null, error: null }
          : { job_id: "job-1", progress: { rows_done: 3000, rows_total: 3000 }, finished: true, path: "/tmp/finance.csv", error: null };
      },
    });
    renderWith(backend, <Finance period="24h" setPeriod={() => {}} />);
    const groups = await screen.findAllByTestId("finance-currency");
    expect(groups.map((g) => g.dataset.currency)).toEqual(["EUR", "USD"]);
    const usd = within(groups[1]!).getAllByTestId("finance-account");
    expect(usd.map((a) => a.dataset.name)).toEqual(["Stripe US Primary", "Square Fallback"]);
    expect(usd[0]).toHaveTextContent("53125.50 USD");
    expect(usd[0]).toHaveTextContent("91.7%");

    await user.click(screen.getByTestId("export-csv"));
    expect(backend.startFinanceExport).toHaveBeenCalledWith("24h", null);
    expect(screen.getByTestId("export-csv")).toBeDisabled();
    await waitFor(() => expect(screen.getByTestId("export-progress")).toHaveTextContent("1,500 / 3,000 rows (50%)"));
    expect(await screen.findByTestId("csv-done")).toHaveTextContent("/tmp/finance.csv");
    expect(screen.getByTestId("export-csv")).not.toBeDisabled();
  });

  it("byCurrency sorts currencies and keeps account order", () => {
    expect(byCurrency(finance.rows).map(([c, rows]) => [c, rows.length])).toEqual([
      ["EUR", 1],
      ["USD", 2],
    ]);
  });
});
