/**
 * Time-series charts for the admin dashboard (uPlot, from npm):
 *   const c = timeChart(el, "Startup time (ms)", ["p50", "p95"]); c.set(times, [p50s, p95s]);
 */
import uPlot from "uplot";

const COLORS = ["#2a7de1", "#e1672a", "#2aa876", "#a82a9c", "#c9a400", "#555"];

export interface TimeChart {
  /** x: seconds since the epoch; ys: one array per label; range: [from, to] of the x axis
   *  (the window asked for; without it the axis spans the data, years wide for one point). */
  set(x: number[], ys: (number | null)[][], range?: [number, number]): void;
}

export function timeChart(el: HTMLElement, title: string, labels: string[], opts: { width?: number } = {}): TimeChart {
  const options: uPlot.Options = {
    title,
    width: opts.width ?? Math.max(280, el.clientWidth || 480),
    height: 200,
    series: [{}, ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: true, size: 4 } }))],
    axes: [{ stroke: "#888" }, { stroke: "#888" }],
    scales: { x: { time: true } },
  };
  const plot = new uPlot(options, [[], ...labels.map(() => [])], el);
  new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 200 })).observe(el);
  return {
    set(x, ys, range) {
      plot.setData([x, ...ys], !range);
      if (range) plot.setScale("x", { min: range[0], max: range[1] });
    },
  };
}
