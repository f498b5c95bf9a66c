/**
 * npm run chaos [-- --only kill-gateway,kill-owner,...] [--dir DIR] [--fast]
 * Starts the 8-node cluster (npm run cluster's, with the default settings; `--fast` shortens
 * heartbeats and leases as the CI suite does), runs the chaos scenarios against it under load and
 * prints one report per scenario: what was killed, what the clients saw (reconnects, retries,
 * failover times), availability (the longest gap between acknowledged chats, and p50/p99/max time
 * from the fault until each member's chat was acknowledged again) and the counts that must be
 * zero (acknowledged messages lost, stored twice, events lost, requests failed after retries).
 * Exit code 1 if any of those is not zero.
 */
import { parseArgs } from "node:util";
import { Chaos, CHAOS_ENV, formatReport, type Report } from "../tools/harness/chaos.js";
import { Cluster } from "../tools/harness/cluster.js";

const SCENARIOS = ["kill-gateway", "kill-owner", "freeze-owner", "kill-nats", "clickhouse-outage", "kill-encoder", "blob-store-outage", "rolling-restart"] as const;
const { values } = parseArgs({ options: { only: { type: "string" }, dir: { type: "string" }, fast: { type: "boolean", default: false } } });
const only = values.only ? values.only.split(",") : [...SCENARIOS];
const unknown = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
if (unknown.length) {
  process.stderr.write(`chaos: unknown scenario ${unknown.join(", ")}; known: ${SCENARIOS.join(", ")}\n`);
  process.exit(2);
}
const say = (l: string) => process.stdout.write(`[chaos] ${l}\n`);
say(values.fast ? "settings: shortened heartbeats and leases (--fast)" : "settings: the defaults");
const cluster = await Cluster.start({ nodes: 8, fast: values.fast, env: CHAOS_ENV, ...(values.dir ? { dir: values.dir } : {}) }, say);
const chaos = new Chaos(cluster);
let failed = 0;
try {
  await chaos.setup();
  const run: Record<(typeof SCENARIOS)[number], () => Promise<Report | undefined>> = {
    "kill-gateway": () => chaos.killGateway(),
    "kill-owner": () => chaos.killRoomOwner(),
    "freeze-owner": () => chaos.freezeRoomOwner(),
    "kill-nats": () => chaos.killNats(),
    "clickhouse-outage": () => chaos.clickhouseOutage(),
    "kill-encoder": () => chaos.killEncoder(),
    "blob-store-outage": () => chaos.storeOutage(),
    "rolling-restart": () => chaos.rollingRestart(),
  };
  for (const name of only as (typeof SCENARIOS)[number][]) {
    say(`${name}: running`);
    const t0 = Date.now();
    const r = await run[name]();
    if (!r) {
      say(`${name}: SKIPPED (no clickhouse-server on this machine)`);
      continue;
    }
    process.stdout.write(`${formatReport(r)}\n  took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    failed += Object.values(r.zero).filter((v) => v !== 0).length;
  }
} finally {
  await cluster.dispose();
}
say(failed === 0 ? "every invariant held" : `${failed} invariant(s) broken`);
process.exit(failed === 0 ? 0 : 1);
