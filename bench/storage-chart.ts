/** The storage bench as a self-contained HTML page with SVG bars (no CDN): each figure for the
 *  directory (baseline) and the NATS object store side by side. */
import { writeFileSync } from "node:fs";

export interface Bar {
  label: string;
  value: number;
  baseline: boolean;
}

export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
}

const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c] ?? c);

function panel(p: Panel): string {
  const max = Math.max(1e-9, ...p.bars.map((b) => b.value));
  const rows = p.bars.map((b, i) => {
    const w = (b.value / max) * 420;
    return `<text x="0" y="${String(i * 32 + 20)}">${esc(b.label)}</text><rect x="230" y="${String(i * 32 + 5)}" width="${w.toFixed(1)}" height="22" fill="${b.baseline ? "#37c" : "#2a7"}"/><text x="${(236 + w).toFixed(1)}" y="${String(i * 32 + 21)}">${b.value.toLocaleString("en")} ${esc(p.unit)}</text>`;
  });
  return `<h2>${esc(p.title)}</h2><svg width="780" height="${String(p.bars.length * 32 + 8)}" font-family="sans-serif" font-size="13">${rows.join("")}</svg>`;
}

export function writeStorageChart(file: string, note: string, panels: Panel[]): void {
  writeFileSync(file, `<!doctype html><meta charset="utf-8"><title>Echostreamhub storage bench</title>
<body style="font-family:sans-serif;max-width:820px;margin:2rem auto">
<h1>Media storage: a directory (blue, the baseline) vs the NATS object store (green)</h1>
<p>${esc(new Date().toISOString())} · ${esc(note)}</p>
${panels.map(panel).join("\n")}</body>`);
}
