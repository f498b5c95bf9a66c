/**
 * The fan-out bench still runs and its four servers keep the same semantics: a tiny run where
 * every chat must reach every member of its room exactly once on ours, raw uWS, ws and
 * Socket.IO, each unbatched and batched. No timing is asserted (that is what the bench prints).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

/** Runs a bench command in its own process group; on timeout the whole group (servers, client workers) is killed. */
function runBench(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "bench/index.ts", ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[smoke] timed out after ${timeoutMs} ms: killing the bench's process group`;
      // Keep what the machine was doing when it hung, and what the bench printed (its progress lines say where).
      stderr += `\n[smoke] load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; busiest processes:\n${spawnSync("ps", ["-eo", "pid,ppid,pcpu,rss,etime,args", "--sort=-pcpu"], { encoding: "utf8" }).stdout.split("\n").slice(0, 12).map((l) => l.slice(0, 160)).join("\n")}`;
      try {
        process.kill(-(p.pid ?? 0), "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    p.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe("bench fanout smoke run", () => {
  it("every server, unbatched and batched, delivers every chat to every member exactly once", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-bench-"));
    const out = path.join(dir, "fanout.json");
    try {
      const args = ["fanout", "--clients", "20", "--rooms", "2", "--chat-rate", "5", "--reaction-rate", "10", "--workers", "2", "--addresses", "2", "--step-seconds", "1", "--servers", "ours,uws,ws,socketio", "--batch-ms", "0,10", "--json", out];
      // A hang fails the test with what the bench printed and what the machine was doing (runBench).
      const r = await runBench(args, 150_000);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /deliveries\/s at the SLO/);
      assert.match(r.stdout, /deliveries\/s keeping up/);
      assert.match(r.stdout, /ours batched 10 ms vs uws batched 10 ms: keeping up \d/);
      const json = JSON.parse(readFileSync(out, "utf8")) as { machine: { cores: number }; results: { kind: string; batchMs: number; steps: { sent: number; expected: number; delivered: number; lost: number; dups: number; clientsMissing: number }[] }[] };
      assert.ok(json.machine.cores >= 1);
      assert.deepEqual(json.results.map((x) => `${x.kind}/${x.batchMs}`), ["ours/0", "uws/0", "ws/0", "socketio/0", "ours/10", "uws/10", "ws/10", "socketio/10"]);
      for (const s of json.results) {
        const step = s.steps.at(-1);
        const name = `${s.kind} batch ${s.batchMs}`;
        assert.ok(step && step.sent > 0, `${name} sent chats`);
        assert.equal(step.lost, 0, `${name}: ${step.delivered}/${step.expected} delivered`);
        assert.equal(step.dups, 0, `${name}: duplicates`);
        assert.equal(step.clientsMissing, 0);
        assert.equal(step.delivered, step.expected);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bench webrtc smoke run", () => {
  it("a real worker forwards every packet to PlainTransport consumers and to real WebRTC viewers, which report and NACK", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-bench-"));
    const out = path.join(dir, "webrtc.json");
    try {
      const r = await runBench(["webrtc", "--consumers", "5,10", "--viewers", "2,4", "--seconds", "3", "--pps", "50", "--gap-every", "20", "--glass-seconds", "0", "--json", out], 120_000);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /headline: 4 real WebRTC viewers \(ICE \+ DTLS-SRTP \+ RTCP, werift\) on one worker at 0% loss/);
      assert.match(r.stdout, /beside it, not the headline: 10 PlainTransport consumers/);
      const json = JSON.parse(readFileSync(out, "utf8")) as { steps: { consumers: number; sent: number; sfuLost: number; sinkLost: number; p50: number; workerCpuPct: number }[]; real: { viewers: number; lost: number; duplicates: number; p50: number; withReceiverReports: number; nacks: number }[] };
      assert.deepEqual(json.steps.map((s) => s.consumers), [5, 10]);
      for (const s of json.steps) {
        assert.equal(s.sent, 150);
        assert.equal(s.sfuLost, 0);
        assert.equal(s.sinkLost, 0);
        assert.ok(Number.isFinite(s.p50) && s.p50 > 0);
        assert.ok(s.workerCpuPct > 0);
      }
      assert.deepEqual(json.real.map((s) => s.viewers), [2, 4]);
      for (const s of json.real) {
        assert.equal(s.lost, 0, "every packet reached every real viewer (SRTP decrypted)");
        assert.equal(s.duplicates, 0);
        assert.ok(Number.isFinite(s.p50) && s.p50 > 0);
        assert.equal(s.withReceiverReports, s.viewers, "every viewer's receiver reports reached the SFU");
        assert.ok(s.nacks > 0, "the viewers NACKed the skipped sequence numbers");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
