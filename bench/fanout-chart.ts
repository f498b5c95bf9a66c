/** The fan-out bench's page: p99 and deliveries/s against the chat rate, one line per server and batching, the SLO marked, and the steps. */
import { barChart, lineChart, table, type Series } from "./chart.js";
import { label, SLO_P99_MS, stepsByRate, type Options, type ServerResult } from "./fanout-results.js";

const COLORS: Record<string, string> = { ours: "#2a7", uws: "#888", ws: "#37c", socketio: "#c63" };

export function fanoutPage(results: ServerResult[], o: Options): { heading: string; note: string; parts: string[] } {
  const series = (y: (s: ServerResult["steps"][number]) => number): Series[] => results.map((r) => ({ name: label(r), color: COLORS[r.kind] ?? "#000", dashed: r.batchMs === 0, points: stepsByRate(r).map((s) => [s.chatRate, y(s)]) }));
  const rows = results.flatMap((r) => stepsByRate(r).map((s) => [label(r), s.chatRate, s.sentPerSec, s.deliveriesPerSec, s.p50, s.p99, s.p999, s.lost, s.clientsMissing, s.dups, s.serverCpuSec, s.usPerDelivery, s.serverKernelPct, s.serverRssMB, s.clientCpuPct, s.machineBusyPct, s.pass ? "holds" : "breaks"]));
  return {
    heading: `Room fan-out: ${o.clients} clients, ${o.rooms} room(s)`,
    note: `${o.reactionRate} reactions/s per room · ${o.workers} client processes · SLO p99 ≤ ${SLO_P99_MS} ms, nothing lost or duplicated · dashed: one frame per item, solid: batched`,
    parts: [
      barChart("Sustainable deliveries/s (highest rate such that it and every lower rate held the SLO)", "/s", results.map((r) => ({ label: label(r), value: r.sustainable?.deliveriesPerSec ?? 0, baseline: r.kind !== "ours" }))),
      lineChart({ title: "p99 latency against the chat rate", xLabel: "chats/s per room", yLabel: "p99 ms", logX: true, yMax: 4 * SLO_P99_MS, hline: { y: SLO_P99_MS, label: `SLO ${SLO_P99_MS} ms` }, series: series((s) => s.p99) }),
      lineChart({ title: "Deliveries/s against the chat rate", xLabel: "chats/s per room", yLabel: "deliveries/s", logX: true, series: series((s) => s.deliveriesPerSec) }),
      lineChart({ title: "Server CPU per delivery", xLabel: "chats/s per room", yLabel: "µs per delivery", logX: true, series: series((s) => s.usPerDelivery) }),
      "<h2>Steps</h2>",
      table(["server", "chat/s", "sent/s", "deliveries/s", "p50", "p99", "p999", "lost", "clients missing", "dups", "server CPU s", "µs/delivery", "kernel %", "RSS MB", "clients CPU %", "machine busy %", "SLO"], rows),
    ],
  };
}
