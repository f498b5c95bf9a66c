/**
 * npm run cluster -- --nodes N [--dir DIR] [--no-clickhouse] [--fast]
 * Starts a real cluster here, without Docker: a 3-server NATS cluster (JetStream, R3), a
 * ClickHouse server when this machine has one, and N Echostreamhub nodes as processes on
 * loopback with different roles (tools/harness/cluster.ts: ROLE_PLAN). Prints where each node
 * serves and writes DIR/cluster.json; node logs (JSON lines) go to DIR/logs/<node>.log.
 * Ctrl-C stops everything (nodes drain first).
 */
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster } from "../tools/harness/cluster.js";

const { values } = parseArgs({
  options: { nodes: { type: "string", default: "8" }, dir: { type: "string" }, "no-clickhouse": { type: "boolean", default: false }, fast: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
});
if (values.help) {
  process.stdout.write("npm run cluster -- --nodes N [--dir DIR] [--no-clickhouse] [--fast]\n");
  process.exit(0);
}
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 32) {
  process.stderr.write("cluster: --nodes must be an integer from 1 to 32\n");
  process.exit(2);
}
const dir = path.resolve(values.dir ?? path.join("data", "cluster"));
const say = (l: string) => process.stdout.write(`[cluster] ${l}\n`);
const t0 = Date.now();
const cluster = await Cluster.start({ nodes, dir, clickhouse: !values["no-clickhouse"], fast: values.fast }, say);
mkdirSync(path.join(dir, "logs"), { recursive: true });
for (const n of cluster.nodes) {
  const out = createWriteStream(path.join(dir, "logs", `${n.id}.log`));
  out.write(n.node.output);
  n.node.proc.stdout?.pipe(out);
  n.node.proc.stderr?.pipe(out);
}
const rows = cluster.nodes.map((n) => ({ id: n.id, services: n.services, pid: n.node.proc.pid, url: n.node.port ? n.node.url : `http://127.0.0.1:${n.opsPort} (ops)` }));
writeFileSync(path.join(dir, "cluster.json"), JSON.stringify({ nats: cluster.nats.urls, clickhouse: cluster.clickhouse?.url ?? null, nodes: rows }, null, 2));
say(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s: NATS ${cluster.nats.urls}${cluster.clickhouse ? `, ClickHouse ${cluster.clickhouse.url}` : ""}`);
for (const r of rows) say(`  ${r.id.padEnd(12)} ${r.services.padEnd(28)} pid ${String(r.pid).padEnd(8)} ${r.url}`);
say(`logs in ${path.join(dir, "logs")}; Ctrl-C stops the cluster`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say("stopping: nodes drain, then NATS and ClickHouse");
  await cluster.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
