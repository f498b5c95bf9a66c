/**
 * The chaos scenarios, run against a live Cluster (tools/harness/cluster.ts). Each returns a
 * report: what was done, what clients saw, and the loss/duplicate counts that must be zero.
 * Used by test/chaos.test.ts (asserts) and `npm run chaos` (prints the reports).
 */
import { connect } from "nats";
import { Chatter, EventSender, Http } from "./chaos-clients.js";
import type { Cluster } from "./cluster.js";
import { api, metricsText } from "./node.js";
import { WsClient } from "./ws-client.js";
import { waitFor } from "./ports.js";
import { makeClip } from "./vod.js";
import { publishRtmp } from "./encoders.js";
import { isRetryable } from "../../protocol/errors.js";

export interface Report {
  scenario: string;
  /** Including availability, where a fault was injected (`faultAt`): `longestGapMs` (the
   *  longest time without any acknowledged chat, over all members, from the fault on),
   *  `backP50Ms` / `backP99Ms` / `backMaxMs` (per member, the fault to their first acknowledged
   *  chat after it: how long until service was back for them). */
  figures: Record<string, number | string>;
  /** Invariants: name -> count that must be 0 (lost, duplicated, failed ...). */
  zero: Record<string, number>;
}

export const ADMIN = { user: "chaosadmin", password: "chaos admin password" };
/** Node env the chaos suite runs the cluster with. */
export const CHAOS_ENV = {
  ADMIN_USER: ADMIN.user,
  ADMIN_PASSWORD: ADMIN.password,
  ESH_ROOMS_CHAT_RATE_PER_SEC: "50",
  ESH_ROOMS_CHAT_BURST: "100",
  // Every acknowledged message of a scenario must still be in the history the check reads.
  ESH_ROOMS_HISTORY_SIZE: "10000",
  ESH_ROOMS_LOG_KEEP: "20000",
  ESH_VOD_ENCODER_CONCURRENCY: "1",
  // The blob store outage watches a live show's HLS (the harness turns it off by default).
  ESH_MEDIA_LIVE_HLS: "true",
  ESH_MEDIA_RECORD_LIVE: "false",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Availability from the members' acknowledgement times, from the fault (`faultAt`) on. */
function availability(chatters: Chatter[], faultAt: number | string | undefined): Record<string, number> {
  if (typeof faultAt !== "number") return {};
  const all = chatters.flatMap((c) => c.ackedAt).filter((t) => t >= faultAt).sort((a, b) => a - b);
  let longest = (all[0] ?? faultAt) - faultAt;
  for (let i = 1; i < all.length; i++) longest = Math.max(longest, (all[i] ?? 0) - (all[i - 1] ?? 0));
  const back = chatters.map((c) => (c.ackedAt.find((t) => t >= faultAt) ?? Number.POSITIVE_INFINITY) - faultAt);
  return { longestGapMs: longest, backP50Ms: pct(back, 50), backP99Ms: pct(back, 99), backMaxMs: pct(back, 100) };
}
const live = (c: Cluster) => c.gateways.filter((g) => g.node.running).map((g) => g.node);
const ws = (c: Cluster) => () => live(c).map((n) => n.wsUrl);
const http = (c: Cluster) => () => live(c).map((n) => n.url);
const pct = (xs: number[], p: number) => (xs.length ? ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0) : 0);

export class Chaos {
  readonly #c: Cluster;
  #admin = "";
  #creator = "";

  constructor(cluster: Cluster) {
    this.#c = cluster;
  }

  get #gw(): string {
    return http(this.#c)()[0] ?? "";
  }

  async setup(): Promise<void> {
    this.#admin = (await api(this.#gw, "POST", "/api/auth/login", { username: ADMIN.user, password: ADMIN.password })).body.accessToken as string;
    const reg = await api(this.#gw, "POST", "/api/auth/register", { username: `creator${Date.now() % 100000}`, password: "creator password 1", role: "creator" });
    this.#creator = reg.body.accessToken as string;
    if (!this.#admin || !this.#creator) throw new Error("chaos setup: no admin or creator token");
  }

  async #room(title: string): Promise<string> {
    const r = await api(this.#gw, "POST", "/api/streams", { title, kind: "live" }, this.#creator);
    return r.body.id as string;
  }

  async #guests(n: number): Promise<string[]> {
    const h = new Http(http(this.#c));
    return Promise.all(Array.from({ length: n }, async () => (await h.call("POST", "/api/auth/guest")).body.accessToken as string));
  }

  /** Chatters on a room, spread over the gateways, talking while `during` runs; then the checks. */
  async #chatThrough(title: string, members: number, during: (room: string) => Promise<Record<string, number | string>>): Promise<Report> {
    const room = await this.#room(title);
    const tokens = await this.#guests(members);
    const chatters = tokens.map((t, i) => new Chatter(ws(this.#c), t, room, `${title}-${i}`, i));
    await Promise.all(chatters.map((c) => c.join()));
    let stop = false;
    const talking = Promise.all(chatters.map((c) => c.talk(100, () => stop)));
    let figures: Record<string, number | string>;
    try {
      await sleep(1500);
      figures = await during(room);
      await sleep(1500);
    } finally {
      stop = true;
      await talking;
    }
    try {
      return { scenario: title, ...(await this.#checkRoom(room, chatters, { ...figures, ...availability(chatters, figures.faultAt) })) };
    } finally {
      for (const c of chatters) c.close(); // a failed check must not leave sockets reconnecting (the process would never exit)
    }
  }

  /** Every acked message is in the room's history once; every member received every message. */
  async #checkRoom(room: string, chatters: Chatter[], figures: Record<string, number | string>): Promise<Omit<Report, "scenario">> {
    const acked = chatters.flatMap((c) => [...c.acked.entries()]);
    const history = await this.#history(room);
    if (acked.length >= Number(CHAOS_ENV.ESH_ROOMS_HISTORY_SIZE)) throw new Error(`${acked.length} messages: more than the room history the check can read`);
    const byCid = new Map<string, number[]>();
    for (const e of history) if (e.cid) byCid.set(e.cid, [...(byCid.get(e.cid) ?? []), e.seq]);
    const lostList = acked.filter(([cid, seq]) => !(byCid.get(cid) ?? []).includes(seq));
    const lost = lostList.length;
    if (lost > 0) figures.lostButInDurableLog = await this.#inLog(room, lostList.map(([, seq]) => seq));
    const duplicated = [...byCid.values()].filter((s) => s.length > 1).length;
    const top = Math.max(0, ...history.map((e) => e.seq));
    const missed = (await Promise.all(chatters.map((c) => c.caughtUp(top)))).reduce((a, m) => a + m.length, 0);
    const reconnectMs = chatters.flatMap((c) => c.reconnectMs);
    const refusals = chatters.flatMap((c) => c.refused).slice(0, 3);
    for (const c of chatters) c.close();
    return {
      figures: { ...figures, members: chatters.length, messagesAcked: acked.length, historyChats: history.length, reconnects: reconnectMs.length, reconnectP50Ms: pct(reconnectMs, 50), reconnectMaxMs: pct(reconnectMs, 100), ...(refusals.length ? { refusals: refusals.join(" | ") } : {}) },
      zero: { lostAckedMessages: lost, storedTwice: duplicated, missedByMembers: missed, chatRefused: chatters.reduce((a, c) => a + c.refused.length, 0) },
    };
  }

  /** The room's chat history, as a fresh member joining sees it. A join during a failover may be
   *  refused with a retryable code, as any client's: asked again, as any client would. */
  async #history(room: string): Promise<{ seq: number; cid?: string }[]> {
    const token = (await this.#guests(1))[0] ?? "";
    const c = await WsClient.connect(ws(this.#c)()[0] ?? "", { token });
    try {
      return await waitFor("the room's history", async () => {
        const r = await c.request("room.join", { room }, 10_000);
        if (r.t === "error") {
          const code = (r.d as { code?: string }).code ?? "";
          if (!isRetryable(code)) throw new Error(`room.join refused: ${JSON.stringify(r.d)}`);
          return undefined;
        }
        return (r.d as { events: { kind: string; seq: number; cid?: string }[] }).events.filter((e) => e.kind === "chat");
      }, 30_000, 500);
    } finally {
      c.close();
    }
  }

  /** 1. kill -9 a gateway while its members chat: they move to the other gateway. */
  killGateway(): Promise<Report> {
    return this.#chatThrough("kill-gateway", 12, async () => {
      const t0 = Date.now();
      await this.#c.kill("gw-1");
      await sleep(3000);
      await this.#c.restart("gw-1");
      return { killed: "gw-1 (SIGKILL)", faultAt: t0, backInMs: Date.now() - t0 };
    });
  }

  /** 2. kill -9 the node that owns a busy room: the lease moves, the sequence continues. */
  killRoomOwner(): Promise<Report> {
    return this.#chatThrough("kill-owner", 12, async (room) => {
      const owner = await this.#owner(room);
      const t0 = Date.now();
      await this.#c.kill(owner);
      const moved = await waitFor("the room's lease to move", async () => {
        const o = await this.#owner(room);
        return o && o !== owner ? o : undefined;
      }, 30_000, 100);
      const movedMs = Date.now() - t0;
      await this.#c.restart(owner);
      return { killed: `${owner} (owner, SIGKILL)`, faultAt: t0, newOwner: moved, ownershipMovedMs: movedMs };
    });
  }

  /** 2b. SIGSTOP the room's owner for 5 s (a partition: it stops answering but keeps its NATS
   *  connection), then SIGCONT: the room moves, and the woken node never numbers it again (one
   *  event per seq, nothing acknowledged lost or doubled). */
  freezeRoomOwner(): Promise<Report> {
    return this.#chatThrough("freeze-owner", 12, async (room) => {
      const owner = await this.#owner(room);
      const proc = this.#c.node(owner).node.proc;
      const t0 = Date.now();
      proc.kill("SIGSTOP");
      const moving = waitFor("the room's lease to move", async () => {
        const o = await this.#owner(room);
        return o && o !== owner ? { o, ms: Date.now() - t0 } : undefined;
      }, 30_000, 100);
      const { o: moved, ms: movedMs } = await moving.finally(() => setTimeout(() => proc.kill("SIGCONT"), Math.max(0, 5000 - (Date.now() - t0))));
      await sleep(Math.max(0, 5000 - (Date.now() - t0)));
      await sleep(2000); // the woken node renews (finds its lease taken) and may try to write
      return { frozen: `${owner} (owner, SIGSTOP 5 s, then SIGCONT)`, faultAt: t0, newOwner: moved, ownershipMovedMs: movedMs };
    });
  }

  /** How many of these seqs the room's durable log (JetStream KV) holds: tells a lost write
   *  from an owner that loaded an incomplete history. */
  async #inLog(room: string, seqs: number[]): Promise<string> {
    const nc = await connect({ servers: this.#c.nats.urls.split(",") });
    try {
      const kv = await nc.jetstream().views.kv("esh_room_log");
      let found = 0;
      for (const s of seqs) if ((await kv.get(`${room}.${String(s).padStart(12, "0")}`))?.operation === "PUT") found++;
      return `${found} of ${seqs.length} (seqs ${seqs.slice(0, 5).join(", ")})`;
    } finally {
      await nc.close();
    }
  }

  async #owner(room: string): Promise<string> {
    const nc = await connect({ servers: this.#c.nats.urls.split(",") });
    try {
      const kv = await nc.jetstream().views.kv("esh_room_leases");
      const e = await kv.get(room);
      return e?.value.length ? (JSON.parse(new TextDecoder().decode(e.value)) as { owner: string }).owner : "";
    } finally {
      await nc.close();
    }
  }

  /** 3. kill one NATS server of three while chat and analytics events flow. */
  async killNats(): Promise<Report> {
    const sender = new EventSender(new Http(http(this.#c)), this.#admin, `chaos-nats-${Date.now()}`);
    let stop = false;
    const events = sender.stream(50, () => stop);
    const gaps0 = await this.#gatewayCounter("esh_gateway_room_gaps_repaired_total");
    const report = await this.#chatThrough("kill-nats", 8, async () => {
      await this.#c.nats.kill(0);
      await sleep(4000);
      await this.#c.nats.restart(0);
      return { killed: "nats-1 of 3 (SIGKILL), restarted after 4 s" };
    });
    report.figures.roomGapsRepairedByGateways = (await this.#gatewayCounter("esh_gateway_room_gaps_repaired_total")) - gaps0;
    stop = true;
    await events;
    return this.#withEvents(report, sender);
  }

  /** The sum of one counter over every live gateway's /metrics. */
  async #gatewayCounter(name: string): Promise<number> {
    let sum = 0;
    for (const base of http(this.#c)()) {
      const text = await metricsText(base);
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(m[1]);
    }
    return sum;
  }

  /** 4. ClickHouse down under event load: events wait in JetStream and are all stored after. */
  async clickhouseOutage(): Promise<Report | undefined> {
    const ch = this.#c.clickhouse;
    if (!ch) return undefined;
    const sender = new EventSender(new Http(http(this.#c)), this.#admin, `chaos-ch-${Date.now()}`);
    let stop = false;
    const events = sender.stream(20, () => stop);
    await sleep(1000);
    await ch.stop("SIGKILL");
    await sleep(8000);
    const during = sender.accepted;
    await ch.restart();
    await sleep(1000);
    stop = true;
    await events;
    return this.#withEvents({ scenario: "clickhouse-outage", figures: { down: "8 s (SIGKILL)", acceptedWhileDown: during }, zero: {} }, sender);
  }

  async #withEvents(r: Report, s: EventSender): Promise<Report> {
    const want = s.accepted;
    const stored = await waitFor("every accepted event stored", async () => {
      const q = await api(this.#gw, "POST", "/api/analytics/query", { sql: `SELECT count() AS n, uniqExact(event_id) AS d FROM events WHERE stream_id = '${s.streamId}'` }, this.#admin);
      const [n, d] = ((q.body.rows as unknown[][] | undefined) ?? [])[0] ?? [];
      return Number(d) >= want ? { n: Number(n), d: Number(d) } : undefined;
    }, 90_000, 500).catch(() => ({ n: -1, d: -1 }));
    return { ...r, figures: { ...r.figures, eventsAccepted: want, eventsStored: stored.d, eventBatchesResent: s.resent }, zero: { ...r.zero, eventsLost: stored.d < 0 ? want : Math.max(0, want - stored.d), eventsStoredTwice: Math.max(0, stored.n - stored.d), eventBatchesGivenUp: s.refused } };
  }

  /** 5. kill -9 the encoder running a job: the other encoder takes it over and finishes. */
  async killEncoder(): Promise<Report> {
    const clip = makeClip(20);
    const h = { "tus-resumable": "1.0.0", authorization: `Bearer ${this.#creator}` };
    const created = await fetch(`${this.#gw}/api/uploads`, { method: "POST", headers: { ...h, "upload-length": String(clip.length), "upload-metadata": `title ${Buffer.from("chaos").toString("base64")}` } });
    const { uploadId, streamId } = (await created.json()) as { uploadId: string; streamId: string };
    await fetch(`${this.#gw}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...h, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: clip });
    const job = async () => (await api(this.#gw, "GET", `/api/encodes/${streamId}`, undefined, this.#creator)).body as { status: string; node?: string; attempts: number; progress: number };
    const running = await waitFor("the job running", async () => {
      const j = await job();
      return j.status === "running" && j.node ? j : undefined;
    }, 30_000, 100);
    const t0 = Date.now();
    await this.#c.kill(running.node ?? "");
    const ready = await waitFor("the asset ready", async () => {
      const s = (await api(this.#gw, "GET", `/api/streams/${streamId}`)).body as { status: string };
      return s.status === "ready" || s.status === "failed" ? s.status : undefined;
    }, 180_000, 250);
    // The asset is marked ready, then its job done: a moment apart.
    const done = await waitFor("the job done", async () => {
      const j = await job();
      return j.status === "done" ? j : undefined;
    }, 5000, 50).catch(() => job());
    const master = await fetch(`${this.#gw}/vod/${streamId}/master.m3u8`);
    await this.#c.restart(running.node ?? "");
    return {
      scenario: "kill-encoder",
      figures: { killed: `${running.node ?? "?"} at ${running.progress}%`, finishedOn: done.node ?? "?", attempts: done.attempts, readyAfterKillMs: Date.now() - t0, masterPlaylist: master.status },
      zero: { jobNotDone: done.status === "done" && ready === "ready" ? 0 : 1, sameNodeFinished: done.node === running.node ? 1 : 0, playlistMissing: master.status === 200 ? 0 : 1 },
    };
  }

  /** 7. the blob store (its NATS server) away for 10 s under an upload, an encode and a live show. */
  async storeOutage(outageMs = 10_000): Promise<Report> {
    const gw = this.#gw;
    const media = this.#c.nodes.find((n) => n.services.split(",").includes("media") && n.node.running);
    if (!media) throw new Error("no media node");
    const live = ((await api(gw, "POST", "/api/streams", { title: "chaos live", kind: "live" }, this.#creator)).body as { id: string }).id;
    const key = ((await api(gw, "GET", `/api/streams/${live}/key`, undefined, this.#creator)).body as { key: string }).key;
    const pub = publishRtmp(`rtmp://127.0.0.1:${String(media.rtmpPort)}/live/${key}`, { seconds: 300 });
    try {
      const playlist = async () => {
        const variant = await fetch(`${gw}/live/${live}/240p/index.m3u8`).catch(() => undefined);
        const text = variant?.status === 200 ? await variant.text() : "";
        return text.split("\n").filter((l) => /_seg_\d+\.ts$/.test(l));
      };
      const before = await waitFor("live HLS in the store", async () => ((await playlist()).length >= 2 ? playlist() : undefined), 60_000, 250).catch((err: unknown) => {
        const said = media.node.output.split("\n").filter((l) => /ingest|live HLS|rtmp|blob/i.test(l)).slice(-15).join("\n");
        throw new Error(`${String(err)}; the media node said:\n${said}\nthe encoder said: ${pub.log()}`);
      });
      const cachedSeg = `${gw}/live/${live}/240p/${before.at(-1) ?? ""}`;
      if ((await fetch(cachedSeg)).status !== 200) throw new Error("a live segment did not load");
      // An upload finished just before (its job encodes into the outage) and one half sent.
      const h = { "tus-resumable": "1.0.0", authorization: `Bearer ${this.#creator}` };
      const upload = async (clip: Buffer, title: string) => {
        const r = await fetch(`${gw}/api/uploads`, { method: "POST", headers: { ...h, "upload-length": String(clip.length), "upload-metadata": `title ${Buffer.from(title).toString("base64")}` } });
        return (await r.json()) as { uploadId: string; streamId: string };
      };
      const patch = (u: { uploadId: string }, clip: Buffer, from: number, to: number) => fetch(`${http(this.#c)()[1] ?? gw}/api/uploads/${u.uploadId}`, { method: "PATCH", headers: { ...h, "content-type": "application/offset+octet-stream", "upload-offset": String(from) }, body: clip.subarray(from, to) });
      const clipA = makeClip(12);
      const a = await upload(clipA, "encoded through the outage");
      if ((await patch(a, clipA, 0, clipA.length)).status !== 204) throw new Error("upload A refused");
      await waitFor("A's job running", async () => ((await api(gw, "GET", `/api/encodes/${a.streamId}`, undefined, this.#creator)).body as { status: string }).status === "running" || undefined, 30_000, 100);
      const clipB = makeClip(8);
      const b = await upload(clipB, "resumed across the outage");
      const half = Math.floor(clipB.length / 2);
      if ((await patch(b, clipB, 0, half)).status !== 204) throw new Error("upload B's first half refused");

      await this.#c.blobStore.stop();
      const t0 = Date.now();
      let refused = 0;
      let cachedOk = 0;
      let cachedFailed = 0;
      let acked = half;
      // A tus client: send the rest; on a refusal, ask where the upload stands and send again.
      const resume = (async () => {
        for (;;) {
          const r = await patch(b, clipB, acked, clipB.length);
          if (r.status === 204) return (acked = clipB.length);
          refused++;
          await sleep(1000);
          const head = await fetch(`${gw}/api/uploads/${b.uploadId}`, { method: "HEAD", headers: h });
          acked = Number(head.headers.get("upload-offset") ?? acked);
        }
      })();
      while (Date.now() - t0 < outageMs) {
        const r = await fetch(cachedSeg);
        if (r.status === 200) cachedOk++;
        else cachedFailed++;
        await sleep(500);
      }
      await this.#c.blobStore.restart();
      const back = Date.now();
      await resume;
      const uploadDone = Date.now() - back;
      const ready = async (sid: string) => waitFor(`${sid} ready or failed`, async () => {
        const st = ((await api(gw, "GET", `/api/streams/${sid}`)).body as { status: string }).status;
        return st === "ready" || st === "failed" ? st : undefined;
      }, 180_000, 250);
      const [readyA, readyB] = [await ready(a.streamId), await ready(b.streamId)];
      const jobA = (await api(gw, "GET", `/api/encodes/${a.streamId}`, undefined, this.#creator)).body as { attempts: number };
      const lastBefore = Number(/(\d+)\.ts$/.exec(before.at(-1) ?? "")?.[1] ?? 0);
      const after = await waitFor("the live playlist past the outage", async () => {
        const p = await playlist();
        return Number(/(\d+)\.ts$/.exec(p.at(-1) ?? "")?.[1] ?? 0) > lastBefore + outageMs / 2000 ? p : undefined;
      }, 60_000, 250);
      const liveCaughtUpMs = Date.now() - back;
      let missing = 0;
      for (const seg of after) if ((await fetch(`${gw}/live/${live}/240p/${seg}`)).status !== 200) missing++;
      // The window has no gap (a segment the mirror dropped would leave one), and the media node dropped none.
      const numbers = after.map((x) => Number(/(\d+)\.ts$/.exec(x)?.[1] ?? -1));
      const gaps = numbers.slice(1).filter((n, i) => n !== (numbers[i] ?? 0) + 1).length;
      const dropped = (media.node.output.match(/dropped: more than \d+ segments wait for the blob store/g) ?? []).length;
      return {
        scenario: "blob-store-outage",
        figures: { outageMs: back - t0, chunksRefusedDuringOutage: refused, cachedSegmentServedDuringOutage: cachedOk, uploadDoneAfterOutageMs: uploadDone, encodeAttemptsOfJobCaughtInOutage: jobA.attempts, liveCaughtUpMs, liveWindowAfter: after.join(" ") },
        zero: { uploadLost: readyB === "ready" ? 0 : 1, encodeLost: readyA === "ready" ? 0 : 1, cachedSegmentFailed: cachedFailed, liveSegmentsMissing: missing, liveWindowGaps: gaps, liveSegmentsDropped: dropped },
      };
    } finally {
      pub.stop();
    }
  }

  /** 6. every node restarted in turn (SIGTERM, drain, start) under chat, API and event load. */
  async rollingRestart(): Promise<Report> {
    const api2 = new Http(http(this.#c));
    const sender = new EventSender(new Http(http(this.#c)), this.#admin, `chaos-roll-${Date.now()}`);
    const room = await this.#room("rolling");
    let stop = false;
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        await api2.call("GET", `/api/streams/${room}`);
        await sleep(20);
      }
    });
    const events = sender.stream(100, () => stop);
    const steps: string[] = [];
    const report = await this.#chatThrough("rolling-restart", 8, async () => {
      const t0 = Date.now();
      await this.#c.rollingRestart((id, ms) => steps.push(`${id} ${(ms / 1000).toFixed(1)}s`));
      return { restarted: steps.join(", "), totalMs: Date.now() - t0 };
    });
    stop = true;
    await Promise.all([...readers, events]);
    const withEvents = await this.#withEvents(report, sender);
    const s = api2.stats;
    return {
      ...withEvents,
      figures: { ...withEvents.figures, apiRequests: s.requests, apiRetried: s.retried, apiFailedAfterRetries: s.failed, apiFailures: s.failures.join(" | ") || "none" },
      zero: { ...withEvents.zero, apiFailedAfterRetries: s.failed },
    };
  }
}

export function formatReport(r: Report): string {
  const lines = [`## ${r.scenario}`];
  for (const [k, v] of Object.entries(r.figures)) lines.push(`  ${k.padEnd(36)} ${String(v)}`);
  for (const [k, v] of Object.entries(r.zero)) lines.push(`  ${(k + " (must be 0)").padEnd(36)} ${v}${v === 0 ? "" : "  <-- FAILED"}`);
  return lines.join("\n");
}
