/**
 * SRT ingest (listener mode): many encoders on one UDP port, told apart by their `streamid`.
 * libsrt does the protocol, in a small helper (media/srt-gate/srt-gate.c, built by the bootstrap
 * from Debian's libsrt): it asks us about each caller's streamid in libsrt's listen callback, so
 * a wrong key is refused in the handshake (SRT reject reason 401) before any media flows, and
 * relays each accepted caller's MPEG-TS to a loopback UDP port we name. The handshake waits on
 * our answer (libsrt's receive thread, shared by the port, waits with it): the answer comes right
 * after the key check; the stream's legs and ffmpeg start behind it.
 *
 * Owner of: the helper process; each accepted caller's sink is closed when the caller leaves.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";

/** Callers at once from one address (an encoder needs one; a few for retries). */
const MAX_PER_ADDRESS = 8;

export const SRT_GATE = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".cache", "srt-gate", "srt-gate");

/** An accepted caller's media: MPEG-TS arriving on a loopback UDP port. */
export interface TsSink {
  close(why: string): void;
}

export interface SrtPublish {
  key: string;
  /** The caller's address (ip:port). */
  remote: string;
  /** Where the caller's MPEG-TS will arrive. */
  udpPort: number;
  /** Ends this caller's session (a rotated key, a revoked owner, a cap, a refusal). */
  end: (why: string) => void;
}

export type SrtVerdict = { sink: TsSink } | { refused: string };

/** A free loopback UDP port for the relay (ffmpeg binds it next). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class SrtServer {
  readonly #onPublish: (p: SrtPublish) => Promise<SrtVerdict>;
  readonly #log: (level: "info" | "warn", msg: string) => void;
  #gate: ChildProcessByStdio<Writable, Readable, null> | undefined;
  readonly #sinks = new Map<string, TsSink>();
  /** The address of each admitted caller, for the per-address cap. */
  readonly #addressOf = new Map<string, string>();
  #stopping = false;

  constructor(onPublish: (p: SrtPublish) => Promise<SrtVerdict>, log: (level: "info" | "warn", msg: string) => void) {
    this.#onPublish = onPublish;
    this.#log = log;
  }

  static available(): boolean {
    return existsSync(SRT_GATE);
  }

  listen(port: number, host: string, latencyMs = 120): Promise<void> {
    const gate = spawn(SRT_GATE, [host, String(port), String(latencyMs)], { stdio: ["pipe", "pipe", "ignore"] });
    this.#gate = gate;
    gate.stdin.on("error", () => undefined);
    return new Promise((resolve, reject) => {
      gate.once("error", reject);
      gate.once("exit", (code) => {
        if (!this.#stopping) this.#log("warn", `srt: the listener helper exited (${String(code)}): SRT ingest is off`);
        for (const s of this.#sinks.values()) s.close("the SRT listener stopped");
        this.#sinks.clear();
        reject(new Error(`srt-gate exited (${String(code)})`));
      });
      createInterface({ input: gate.stdout }).on("line", (line) => {
        if (line === "READY") return resolve();
        const [cmd, sock = "", ...rest] = line.split(" ");
        if (cmd === "ASK") void this.#ask(sock, rest[1] ?? "", rest[0] ?? "");
        else if (cmd === "END") this.#ended(sock);
      });
    });
  }

  close(): void {
    this.#stopping = true;
    this.#gate?.kill();
  }

  #send(line: string): void {
    if (this.#gate && !this.#gate.stdin.destroyed) this.#gate.stdin.write(`${line}\n`);
  }

  async #ask(sock: string, streamid: string, peer: string): Promise<void> {
    const ip = peer.replace(/:\d+$/, "");
    if ([...this.#addressOf.values()].filter((a) => a === ip).length >= MAX_PER_ADDRESS) {
      this.#log("warn", `srt ${sock}: refused (too many callers from ${ip})`);
      return this.#send(`NO ${sock}`);
    }
    let ended = false;
    const isEnded = () => ended; // read again after the awaits below
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      this.#log("warn", `srt ${sock}: closed (${why})`);
      this.#send(`CLOSE ${sock}`);
      this.#ended(sock, why);
    };
    try {
      const udpPort = await freeUdpPort();
      const verdict = await this.#onPublish({ key: streamid, udpPort, end, remote: peer });
      if ("refused" in verdict) {
        this.#log("warn", `srt ${sock}: refused: ${verdict.refused}`);
        return this.#send(`NO ${sock}`);
      }
      if (isEnded()) {
        verdict.sink.close("ended while being admitted"); // a rotation or revocation came first
        return this.#send(`NO ${sock}`);
      }
      this.#sinks.set(sock, verdict.sink);
      this.#addressOf.set(sock, ip);
      this.#send(`OK ${sock} ${String(udpPort)}`);
    } catch (err) {
      this.#log("warn", `srt ${sock}: publish failed: ${String(err)}`);
      this.#send(`NO ${sock}`);
    }
  }

  #ended(sock: string, why = "the encoder disconnected"): void {
    const s = this.#sinks.get(sock);
    this.#sinks.delete(sock);
    this.#addressOf.delete(sock);
    s?.close(why);
  }
}
