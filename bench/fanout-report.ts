/** The fan-out bench's printed report: every step, the headline per server, and ours against each baseline. */
import { KEEP_UP_P99_MS, label, SLO_P99_MS, stepsByRate, type Options, type ServerResult, type StepResult } from "./fanout-results.js";

const col = (v: string | number, w: number) => String(v).padStart(w);
const mark = (s: StepResult) => (s.pass ? "" : s.keepsUp ? "  over SLO" : "  behind");

function printSteps(results: ServerResult[]): void {
  console.log("server".padEnd(24) + col("chat/s", 7) + col("sent/s", 8) + col("deliv/s", 9) + col("p50", 7) + col("p99", 7) + col("p999", 7) + col("lost", 7) + col("miss", 6) + col("dup", 5) + col("cpu-s", 7) + col("µs/dlv", 8) + col("krn%", 5) + col("rssMB", 7) + col("KB/conn", 8) + col("cli%", 6) + col("box%", 6));
  for (const r of results) {
    for (const s of stepsByRate(r)) {
      console.log(label(r).padEnd(24) + col(s.chatRate, 7) + col(s.sentPerSec, 8) + col(s.deliveriesPerSec, 9) + col(s.p50, 7) + col(s.p99, 7) + col(s.p999, 7) + col(s.lost, 7) + col(s.clientsMissing, 6) + col(s.dups, 5) + col(s.serverCpuSec, 7) + col(s.usPerDelivery, 8) + col(s.serverKernelPct, 5) + col(s.serverRssMB, 7) + col(r.memPerConnKB, 8) + col(s.clientCpuPct, 6) + col(s.machineBusyPct, 6) + mark(s));
    }
  }
}

/** The highest rate that both kept up with, else the lowest rate both ran: where two servers compare at the same load. */
export function commonRate(a: ServerResult, b: ServerResult): number | undefined {
  const rates = (r: ServerResult) => new Set(r.steps.map((s) => s.chatRate));
  const both = [...rates(a)].filter((x) => rates(b).has(x)).sort((x, y) => x - y);
  return both.filter((x) => x <= (a.saturation?.chatRate ?? 0) && x <= (b.saturation?.chatRate ?? 0)).at(-1) ?? both[0];
}

const at = (r: ServerResult, rate: number): StepResult | undefined => r.steps.filter((s) => s.chatRate === rate).at(-1);
const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

function printVersus(ours: ServerResult, base: ServerResult, targets: { deliveries?: number; p99PlusMs?: number; cpu?: number }): void {
  const d = ratio(ours.saturation?.deliveriesPerSec ?? 0, base.saturation?.deliveriesPerSec ?? 0);
  const slo = ours.sustainable && base.sustainable ? `${ratio(ours.sustainable.deliveriesPerSec, base.sustainable.deliveriesPerSec).toFixed(2)}x` : `n/a (${[ours, base].filter((r) => !r.sustainable).map(label).join(", ")}: no rate held the SLO)`;
  const rate = commonRate(ours, base);
  const [o, b] = rate === undefined ? [undefined, undefined] : [at(ours, rate), at(base, rate)];
  const parts = [`keeping up ${d.toFixed(2)}x${targets.deliveries !== undefined ? ` (target >= ${targets.deliveries}x: ${verdict(d >= targets.deliveries)})` : ""}`, `at the SLO ${slo}`];
  if (o && b) {
    const dp = o.p99 - b.p99;
    const cpu = ratio(o.usPerDelivery, b.usPerDelivery);
    parts.push(`at ${rate} chat/s p99 ${o.p99} vs ${b.p99} ms (${dp >= 0 ? "+" : ""}${dp.toFixed(1)} ms${targets.p99PlusMs !== undefined ? `, target <= +${targets.p99PlusMs}: ${verdict(dp <= targets.p99PlusMs)}` : ""})`);
    parts.push(`CPU per delivery ${o.usPerDelivery} vs ${b.usPerDelivery} µs (${cpu.toFixed(2)}x${targets.cpu !== undefined ? `, target <= ${targets.cpu}x: ${verdict(cpu <= targets.cpu)}` : ""})`);
  }
  if (ours.processes !== base.processes) parts.push(`ours ran as ${String(ours.processes)} processes against ${String(base.processes)}: deliveries/s are not like with like, CPU per delivery is`);
  console.log(`  ${label(ours)} vs ${label(base)}: ${parts.join("; ")}`);
}

export function printFanoutReport(results: ServerResult[], o: Options): void {
  console.log(`\nfan-out: ${o.clients} clients in ${o.rooms} room(s), ${o.reactionRate} reactions/s per room, ${o.workers} client processes over ${o.addresses} source addresses; SLO p99 <= ${SLO_P99_MS} ms, no client missing or duplicating a chat`);
  console.log("lost = owed deliveries never received, summed per client; miss = clients that missed any; dup = receipts of a chat already received; µs/dlv = all server CPU during the step (reactions, presence, the drain included) over chat deliveries; krn% = its share in the kernel; over SLO = kept up, p99 over the SLO; behind = lost, duplicated or p99 over 1 s\n");
  printSteps(results);
  const headline = (title: string, pick: (r: ServerResult) => StepResult | undefined, none: (r: ServerResult) => string) => {
    console.log(`\n${title}`);
    for (const r of results) {
      const s = pick(r);
      console.log(`  ${label(r).padEnd(24)} ${col(s?.deliveriesPerSec ?? 0, 9)}  ${s ? `at ${s.chatRate} chat/s per room, p99 ${s.p99} ms, ${s.usPerDelivery} µs/delivery, ${r.processes} server process(es)` : none(r)}`);
    }
  };
  headline(`deliveries/s at the SLO (p99 <= ${SLO_P99_MS} ms; the highest rate such that it and every lower rate held):`, (r) => r.sustainable, (r) => `no rate held the SLO (p99 ${stepsByRate(r)[0]?.p99 ?? "?"} ms at ${stepsByRate(r)[0]?.chatRate ?? "?"} chat/s)`);
  headline(`deliveries/s keeping up (nothing lost or duplicated, p99 <= ${KEEP_UP_P99_MS} ms; the same rule):`, (r) => r.saturation, () => "did not keep up even at the lowest rate");
  console.log("\nours against each baseline, same batching:");
  for (const batchMs of o.batches) {
    const of = (kind: string) => results.find((r) => r.kind === kind && r.batchMs === batchMs);
    const ours = of("ours");
    if (!ours) continue;
    const uws = of("uws");
    if (uws) printVersus(ours, uws, { deliveries: 0.95, p99PlusMs: 10, cpu: 1.1 });
    for (const k of ["ws", "socketio"]) {
      const b = of(k);
      if (b) printVersus(ours, b, batchMs > 0 ? { deliveries: 5 } : {});
    }
  }
  if (o.gateways > 1) console.log(`\nours ran as ${o.gateways} gateways + an actors node + nats-server (CPU summed over them); each baseline is one process: compare CPU per delivery.`);
}
