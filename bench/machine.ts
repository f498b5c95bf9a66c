/** The machine a bench ran on, printed before every suite: figures mean little without it. */
import { spawnSync } from "node:child_process";
import os from "node:os";

function version(cmd: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 5000 });
  return pattern.exec(`${r.stdout}${r.stderr}`)?.[1] ?? "absent";
}

export interface Machine {
  cores: number;
  cpu: string;
  memGiB: number;
  loadBefore: number[];
  node: string;
  ffmpeg: string;
  natsServer: string;
}

export function machine(): Machine {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? "?",
    memGiB: Math.round(os.totalmem() / 1024 ** 3),
    loadBefore: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    ffmpeg: version("ffmpeg", ["-version"], /ffmpeg version (\S+)/),
    natsServer: version(process.env.NATS_SERVER_BIN ?? "nats-server", ["--version"], /v?(\d+\.\d+\.\d+)/),
  };
}

export function machineLine(m: Machine = machine()): string {
  return `machine: ${String(m.cores)} cores (${m.cpu}), ${String(m.memGiB)} GiB; load ${m.loadBefore.join(" ")} before the run; node ${m.node}, ffmpeg ${m.ffmpeg}, nats-server ${m.natsServer}`;
}

let first: Machine | undefined;

/** The machine as read when the run began (bench/index.ts reads it before the suite starts). */
export function runMachine(): Machine {
  return (first ??= machine());
}
