/** The QoE and health charts (uPlot through the shared charts module), redrawn on each refresh. */
import { useEffect, useRef } from "preact/hooks";
import { timeChart, type TimeChart } from "../lib/charts";
import "uplot/dist/uPlot.min.css";
import { perNode, secs, type Dashboard } from "./dashboard";

function Chart({ title, labels, x, ys, range }: { title: string; labels: string[]; x: number[]; ys: (number | null)[][]; range: [number, number] }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<{ key: string; c: TimeChart }>();
  useEffect(() => {
    if (!el.current) return;
    const key = labels.join();
    if (chart.current?.key !== key) {
      el.current.replaceChildren();
      chart.current = { key, c: timeChart(el.current, title, labels) };
    }
    chart.current.c.set(x, ys, range);
  });
  return <div class="chart" ref={el} role="img" aria-label={title} />;
}

export function Charts({ d, minutes }: { d: Dashboard; minutes: number }) {
  const now = Date.now() / 1000;
  const range: [number, number] = [now - minutes * 60, now];
  const x = d.qoe.map((r) => secs(r.minute));
  const ex = d.engagement.map((r) => secs(r.minute));
  const errs = new Map(d.qoe.map((r) => [secs(r.minute), r.errors]));
  const cpu = perNode(d.health, "cpu_pct");
  const conns = perNode(d.health, "connections");
  return (
    <div class="charts">
      <Chart title="Video startup time (ms)" labels={["p50", "p95"]} x={x} ys={[d.qoe.map((r) => r.startup_ms[0]), d.qoe.map((r) => r.startup_ms[1])]} range={range} />
      <Chart title="Rebuffering, failures, exits before start (%)" labels={["rebuffer %", "failure %", "EBVS %"]} x={x} ys={[d.qoe.map((r) => r.rebuffer_pct), d.qoe.map((r) => r.failure_pct), d.qoe.map((r) => r.ebvs_pct)]} range={range} />
      <Chart title="Average bitrate (kbit/s), switches per view x100" labels={["kbit/s", "switches x100"]} x={x} ys={[d.qoe.map((r) => r.avg_bitrate_kbps), d.qoe.map((r) => r.switches_per_view * 100)]} range={range} />
      <Chart title="Activity per minute" labels={["viewers", "chat", "reactions", "errors"]} x={ex} ys={[d.engagement.map((r) => r.viewers), d.engagement.map((r) => Number(r.chats)), d.engagement.map((r) => r.reactions), ex.map((t) => errs.get(t) ?? 0)]} range={range} />
      <Chart title="CPU per node (% of a core)" labels={cpu.nodes} x={cpu.x} ys={cpu.ys} range={range} />
      <Chart title="WebSocket connections per node" labels={conns.nodes} x={conns.x} ys={conns.ys} range={range} />
    </div>
  );
}
