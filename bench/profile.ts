/**
 * Where a process's CPU went: the self time of each function in the V8 CPU profiles
 * (`node --cpu-prof`) found in a directory, summed over the profile's samples, top first.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  fn: string;
  where: string;
  ms: number;
  pct: number;
}

/** Self time per function of one profile, top `n`. Idle and GC are named as V8 names them. */
export function hotSpots(profile: CpuProfile, n = 15): HotSpot[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    if (!f) return;
    total += dt;
    const where = f.url ? `${f.url.replace(/^file:\/\//, "").replace(`${process.cwd()}/`, "")}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName}@${where}`;
    const e = self.get(key) ?? { fn: f.functionName || "(anonymous)", where, us: 0 };
    e.us += dt;
    self.set(key, e);
  });
  return [...self.values()].sort((a, b) => b.us - a.us).slice(0, n).map((e) => ({ fn: e.fn, where: e.where, ms: Math.round(e.us / 1000), pct: Math.round((1000 * e.us) / Math.max(1, total)) / 10 }));
}

export function printProfile(dir: string, name: string): void {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  } catch {
    files = [];
  }
  if (files.length === 0) return console.log(`[${name}] no CPU profile was written to ${dir}`);
  for (const f of files) {
    const spots = hotSpots(JSON.parse(readFileSync(path.join(dir, f), "utf8")) as CpuProfile);
    console.log(`\n[${name}] CPU profile ${path.join(dir, f)}: self time, top ${spots.length}`);
    for (const s of spots) console.log(`  ${String(s.pct).padStart(5)}%  ${String(s.ms).padStart(7)} ms  ${s.fn}  ${s.where}`);
  }
}
