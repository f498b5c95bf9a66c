/** Process figures from /proc, and bench client processes (bench/fanout-worker.ts, storm-worker.ts) behind bounded waits. */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { WorkerCommand, WorkerMessage } from "./fanout-protocol.js";

export interface ProcFigures {
  /** User + kernel CPU seconds. */
  cpuSec: number;
  /** Of which in the kernel (syscalls, and loopback TCP work done in the sender's context). */
  sysSec: number;
  rssMB: number;
}

export function sumStats(pids: number[]): ProcFigures {
  return pids.map(procStats).reduce((a, b) => ({ cpuSec: a.cpuSec + b.cpuSec, sysSec: a.sysSec + b.sysSec, rssMB: a.rssMB + b.rssMB }), { cpuSec: 0, sysSec: 0, rssMB: 0 });
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  const f = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU seconds and RSS of a process, from /proc. */
export function procStats(pid: number): ProcFigures {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuSec: (utime + stime) / 100, sysSec: stime / 100, rssMB: Number(rss?.[1] ?? 0) / 1024 };
}

/** The client processes (running `script`, bench/fanout-worker.ts by default, which speaks
 *  fanout-protocol.ts). Every wait on them is bounded and a worker that dies fails the run. */
export class Workers<C = WorkerCommand, M extends { type: string } = WorkerMessage> {
  readonly procs: ChildProcess[];

  constructor(n: number, script = "fanout-worker.ts") {
    this.procs = Array.from({ length: n }, () => fork(path.join("bench", script), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  }

  /** Sends each worker its command and collects one answer of `type` from each within `timeoutMs`
   *  (an `{type: "error", message}` from a worker fails the wait). */
  all<T extends M>(cmds: C[], type: T["type"], timeoutMs: number, onProgress?: (m: M, i: number) => void): Promise<T[]> {
    return Promise.all(
      this.procs.map(
        (p, i) =>
          new Promise<T>((resolve, reject) => {
            const done = () => (clearTimeout(timer), p.off("message", on), p.off("exit", onExit));
            const timer = setTimeout(() => (done(), reject(new Error(`client process ${i} gave no "${type}" in ${timeoutMs} ms`))), timeoutMs);
            const onExit = (code: number | null) => (done(), reject(new Error(`client process ${i} exited (${String(code)}) before "${type}"`)));
            const on = (m: M) => {
              if (m.type === type) {
                done();
                resolve(m as T);
              } else if (m.type === "error") {
                done();
                reject(new Error(`client process ${i}: ${String((m as { message?: unknown }).message)}`));
              } else onProgress?.(m, i);
            };
            p.on("message", on);
            p.once("exit", onExit);
            const cmd = cmds[i];
            if (cmd) p.send(cmd);
          }),
      ),
    );
  }

  close(): void {
    for (const p of this.procs) if (p.connected) p.send({ cmd: "close" });
    setTimeout(() => this.procs.forEach((p) => p.kill("SIGKILL")), 2000).unref();
  }
}

