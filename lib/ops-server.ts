/**
 * The operations endpoint of nodes that run no gateway (media, encoders, analytics, actor
 * nodes): GET /metrics (Prometheus text, the same registry and format as the gateway's),
 * GET /healthz (liveness: the event loop answers) and GET /readyz (readiness: the broker
 * started, the transporter is connected, the node is not draining). Kubernetes probes and
 * Prometheus scrapes point here (ESH_OPS_PORT / OPS_PORT; 0 = off). Anything else is 404.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { prometheusText } from "./prometheus.js";

export class OpsServer {
  readonly #broker: ServiceBroker;
  readonly #server: http.Server;
  draining = false;

  private constructor(broker: ServiceBroker) {
    this.#broker = broker;
    this.#server = http.createServer((req, res) => this.#serve(req, res));
    this.#server.requestTimeout = 10_000;
    this.#server.headersTimeout = 5_000;
  }

  static async listen(broker: ServiceBroker, host: string, port: number): Promise<OpsServer> {
    const ops = new OpsServer(broker);
    await new Promise<void>((resolve, reject) => {
      ops.#server.once("error", reject);
      ops.#server.listen(port, host, () => resolve());
    });
    return ops;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async #ready(): Promise<{ ready: boolean; started: boolean; connected: boolean; draining: boolean }> {
    const b = this.#broker as ServiceBroker & { started: boolean };
    const started = b.started;
    const connected = await this.#transportAnswers();
    return { ready: started && connected && !this.draining, started, connected, draining: this.draining };
  }

  /** Distributed: a PING/PONG round trip to the NATS server within 1 s (the client's own
   *  connected flag stays true while it reconnects). Embedded: no transporter, always true. */
  async #transportAnswers(): Promise<boolean> {
    const tx = (this.#broker as unknown as { transit?: { connected: boolean; tx?: { client?: { flush?: () => Promise<void> } } } }).transit; // moleculer's d.ts has no transit
    if (!tx) return true;
    const client = tx.tx?.client;
    if (!tx.connected || !client?.flush) return tx.connected;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 1000)));
    try {
      return await Promise.race([client.flush().then(() => true, () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
    };
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return json(405, { error: { code: "METHOD_NOT_ALLOWED", message: "Use GET" } });
    switch (url) {
      case "/healthz":
        return json(200, { ok: true, nodeId: this.#broker.nodeID });
      case "/readyz":
        void this.#ready().then((r) => json(r.ready ? 200 : 503, { ...r, nodeId: this.#broker.nodeID }));
        return;
      case "/metrics":
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(prometheusText(this.#broker));
        return;
      default:
        return json(404, { error: { code: "NOT_FOUND", message: "ops endpoint: /metrics, /healthz, /readyz" } });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
