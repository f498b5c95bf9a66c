/**
 * One program, every role: `SERVICES` picks the actors this node runs (default: all of them,
 * embedded). Prints the URL it serves; SIGTERM/SIGINT drain: the gateway stops accepting,
 * tells WebSockets to reconnect elsewhere (close 4000) and lets in-flight requests finish,
 * then the broker stops (waiting for in-flight actions) and the store closes.
 */
import { mkdirSync } from "node:fs";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { mediaService } from "./actors/media/media.service.js";
import { encodersService } from "./actors/encoders/encoders.service.js";
import { analyticsService } from "./actors/analytics/analytics.service.js";
import { recommendersService } from "./actors/recommenders/recommenders.service.js";
import { closeBuses } from "./analytics/bus.js";
import { roomsService } from "./actors/rooms/rooms.service.js";
import { sessionsService } from "./actors/sessions/sessions.service.js";
import { streamsService } from "./actors/streams/streams.service.js";
import type { Gateway } from "./gateway/gateway.js";
import { gatewayService } from "./gateway/gateway.service.js";
import { ConfigError, loadConfig, type AppConfig, type ServiceName } from "./lib/config.js";
import { brokerOptions } from "./moleculer.config.js";
import { OpsServer } from "./lib/ops-server.js";
import { openStore, type Store } from "./store/index.js";
import { openBlobs, type BlobStore } from "./blobs/index.js";

const NEEDS_STORE: readonly ServiceName[] = ["sessions", "streams", "rooms", "encoders"];
/** Actors that read or write media objects (uploads, ladders, live HLS, recordings). */
const NEEDS_BLOBS: readonly ServiceName[] = ["gateway", "streams", "media", "encoders"];

async function main(): Promise<void> {
  let cfg: AppConfig;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`echostreamhub: bad configuration: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  mkdirSync(cfg.dataDir, { recursive: true });
  const broker = new ServiceBroker(brokerOptions(cfg));
  const store = cfg.services.some((s) => NEEDS_STORE.includes(s)) ? await openStore(cfg) : undefined;
  const blobs = cfg.services.some((s) => NEEDS_BLOBS.includes(s)) ? await openBlobs(cfg) : undefined;
  let gateway: Gateway | undefined;
  for (const schema of schemas(cfg, { store, blobs }, (gw) => (gateway = gw))) broker.createService(schema);

  let ops: OpsServer | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.logger.info(`${signal}: draining`);
    if (ops) ops.draining = true;
    await gateway?.drain();
    await broker.stop();
    await closeBuses();
    await store?.close();
    await blobs?.close();
    await ops?.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  await broker.start();
  const mode = cfg.natsUrl ? `distributed over NATS ${cfg.natsUrl}` : "embedded (in-process transport)";
  broker.logger.info(`node ${broker.nodeID}: ${cfg.services.join(",")}; ${mode}; store ${cfg.store}; media objects in ${cfg.blobs.backend === "nats" ? `NATS object store ${cfg.blobs.bucket}` : cfg.dataDir}; data in ${cfg.dataDir}`);
  // Plain stdout, whatever the log level: operators and scripts read these two lines.
  process.stdout.write(`Echostreamhub node ${broker.nodeID} started: ${cfg.services.join(",")}\n`);
  if (gateway) process.stdout.write(`Echostreamhub is serving on ${gateway.scheme}://${cfg.host}:${gateway.port}\n`);
  // The ops port (metrics and probes, for the private network) on every node that asks for it,
  // gateways included: their public port serves /metrics only to a scraper with the metrics token.
  if (cfg.opsPort > 0) {
    ops = await OpsServer.listen(broker, cfg.host, cfg.opsPort);
    process.stdout.write(`Echostreamhub ops endpoint on http://${cfg.host}:${ops.port} (/metrics /healthz /readyz)\n`);
  }
}

function schemas(cfg: AppConfig, opened: { store: Store | undefined; blobs: BlobStore | undefined }, onGateway: (gw: Gateway) => void): ServiceSchema[] {
  const need = (): Store => {
    if (!opened.store) throw new Error("store not opened");
    return opened.store;
  };
  const blobs = (): BlobStore => {
    if (!opened.blobs) throw new Error("blob store not opened");
    return opened.blobs;
  };
  const factories: Record<ServiceName, () => ServiceSchema> = {
    gateway: () => gatewayService(cfg, blobs(), onGateway),
    sessions: () => sessionsService(cfg, need()),
    streams: () => streamsService(need(), cfg, blobs()),
    rooms: () => roomsService(cfg, need()),
    media: () => mediaService(cfg, blobs()),
    encoders: () => encodersService(cfg, need(), blobs()),
    analytics: () => analyticsService(cfg),
    recommenders: () => recommendersService(cfg),
  };
  return cfg.services.map((name) => factories[name]());
}

main().catch((err: unknown) => {
  process.stderr.write(`echostreamhub: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
