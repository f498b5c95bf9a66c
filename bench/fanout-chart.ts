/** Writes the fan-out results as a self-contained HTML page with SVG charts (no CDN). */
import { writeFileSync } from "node:fs";
import type { Options, ServerResult } from "./fanout-results.js";

const COLORS: Record<string, string> = { ours: "#2a7", ws: "#37c", socketio: "#c63" };
const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c] ?? c);

function bars(results: ServerResult[]): string {
  const max = Math.max(1, ...results.map((r) => r.sustainable?.deliveriesPerSec ?? 0));
  const rows = results.map((r, i) => {
    const v = r.sustainable?.deliveriesPerSec ?? 0;
    const w = (v / max) * 520;
    return `<text x="0" y="${i * 40 + 24}">${r.kind}</text><rect x="90" y="${i * 40 + 8}" width="${w}" height="24" fill="${COLORS[r.kind] ?? "#888"}"/><text x="${96 + w}" y="${i * 40 + 25}">${v.toLocaleString("en")} /s</text>`;
  });
  return `<svg width="760" height="${results.length * 40 + 10}" font-family="sans-serif" font-size="14">${rows.join("")}</svg>`;
}

function latency(results: ServerResult[]): string {
  const pts = results.flatMap((r) => r.steps);
  const maxX = Math.max(1, ...pts.map((s) => s.deliveriesPerSec));
  const maxY = Math.max(60, ...pts.map((s) => (Number.isFinite(s.p99) ? Math.min(s.p99, 500) : 0)));
  const x = (v: number) => 50 + (v / maxX) * 650;
  const y = (v: number) => 300 - (Math.min(v, 500) / maxY) * 280;
  const lines = results.map((r) => {
    const d = r.steps.map((s, i) => `${i ? "L" : "M"}${x(s.deliveriesPerSec).toFixed(1)},${y(s.p99).toFixed(1)}`).join(" ");
    return `<path d="${d}" fill="none" stroke="${COLORS[r.kind] ?? "#888"}" stroke-width="2"/>` + r.steps.map((s) => `<circle cx="${x(s.deliveriesPerSec)}" cy="${y(s.p99)}" r="3" fill="${COLORS[r.kind] ?? "#888"}"><title>${r.kind} ${s.chatRate} chat/s: p99 ${s.p99} ms</title></circle>`).join("");
  });
  const slo = `<line x1="50" x2="700" y1="${y(50)}" y2="${y(50)}" stroke="#999" stroke-dasharray="4"/><text x="705" y="${y(50) + 4}" font-size="12">50 ms SLO</text>`;
  const legend = results.map((r, i) => `<text x="${60 + i * 110}" y="16" fill="${COLORS[r.kind] ?? "#888"}">■ ${r.kind}</text>`).join("");
  return `<svg width="780" height="330" font-family="sans-serif" font-size="13"><line x1="50" y1="300" x2="700" y2="300" stroke="#333"/><line x1="50" y1="20" x2="50" y2="300" stroke="#333"/>${slo}${lines.join("")}${legend}<text x="300" y="325">deliveries/s</text><text x="0" y="160" transform="rotate(-90 12 160)">p99 ms</text></svg>`;
}

export function writeFanoutChart(file: string, results: ServerResult[], o: Options): void {
  const html = `<!doctype html><meta charset="utf-8"><title>Echostreamhub fan-out bench</title>
<body style="font-family:sans-serif;max-width:820px;margin:2rem auto">
<h1>Fan-out: ${o.clients} clients, ${o.rooms} room(s)</h1>
<p>${esc(new Date().toISOString())} · ${o.reactionRate} reactions/s per room · ${o.workers} client processes · SLO: p99 ≤ 50 ms, nothing undelivered</p>
<h2>Sustainable deliveries/s</h2>${bars(results)}
<h2>p99 latency as load grows</h2>${latency(results)}
<pre>${esc(JSON.stringify(results.map((r) => ({ kind: r.kind, memPerConnKB: r.memPerConnKB, steps: r.steps })), null, 1))}</pre></body>`;
  writeFileSync(file, html);
}
