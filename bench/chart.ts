/**
 * Every bench's output files: its figures as JSON and a self-contained HTML page (SVG, no CDN)
 * with labelled charts and the table of steps, both under bench/results/ (or where --json says).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { machineLine, runMachine } from "./machine.js";

export const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c] ?? c);
const fmt = (v: number) => (Math.abs(v) >= 10_000 ? `${Math.round(v / 1000)}k` : Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  /** Values above are drawn at the top edge (a broken run must not flatten the rest). */
  yMax?: number;
  /** A horizontal reference line, e.g. the SLO. */
  hline?: { y: number; label: string };
}

const W = 760;
const H = 320;
const L = 70;
const R = 170;
const T = 20;
const B = 50;

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let d = 10 ** Math.floor(Math.log10(Math.max(lo, 1e-9))); d <= hi * 1.0001; d *= 10) for (const m of [1, 2, 5]) if (d * m >= lo * 0.9999 && d * m <= hi * 1.0001) out.push(d * m);
    return out;
  }
  const step = 10 ** Math.floor(Math.log10(Math.max(hi - lo, 1e-9))) * ([1, 2, 5].find((m) => (hi - lo) / (10 ** Math.floor(Math.log10(Math.max(hi - lo, 1e-9))) * m) <= 6) ?? 10);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

/** An SVG line chart with labelled axes, tick values, one line per series and a legend. */
export function lineChart(c: LineChart): string {
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map(([x]) => x);
  const x0 = c.logX ? Math.min(...xs, Infinity) : 0;
  const x1 = Math.max(...xs, x0 + 1);
  const y1 = Math.min(c.yMax ?? Infinity, Math.max(...pts.map(([, y]) => y), c.hline ? c.hline.y * 1.2 : 0, 1));
  const px = (x: number) => L + (c.logX ? (Math.log(x / x0) / Math.log(x1 / x0 || 10)) * (W - L - R) : (x / x1) * (W - L - R));
  const py = (y: number) => T + (1 - Math.min(y, y1) / y1) * (H - T - B);
  const grid = [
    ...ticks(x0, x1, c.logX ?? false).map((t) => `<line x1="${px(t)}" x2="${px(t)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${px(t)}" y="${H - B + 16}" text-anchor="middle">${fmt(t)}</text>`),
    ...ticks(0, y1, false).map((t) => `<line x1="${L}" x2="${W - R}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${L - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`),
  ];
  const lines = c.series.map((s, i) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    const d = p.map(([x, y], j) => `${j ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    const dots = p.map(([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)}: ${fmt(x)} → ${fmt(y)}${y > y1 ? " (off the chart)" : ""}</title></circle>`).join("");
    const legend = `<line x1="${W - R + 12}" x2="${W - R + 36}" y1="${T + 10 + i * 18}" y2="${T + 10 + i * 18}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/><text x="${W - R + 40}" y="${T + 14 + i * 18}">${esc(s.name)}</text>`;
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>${dots}${legend}`;
  });
  const h = c.hline ? `<line x1="${L}" x2="${W - R}" y1="${py(c.hline.y)}" y2="${py(c.hline.y)}" stroke="#c00" stroke-dasharray="6 4"/><text x="${W - R - 4}" y="${py(c.hline.y) - 5}" text-anchor="end" fill="#c00">${esc(c.hline.label)}</text>` : "";
  const axes = `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/><text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">${esc(c.xLabel)}${c.logX ? " (log scale)" : ""}</text><text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`;
  return `<h2>${esc(c.title)}</h2><svg width="${W}" height="${H}" font-family="sans-serif" font-size="12">${grid.join("")}${axes}${h}${lines.join("")}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Drawn in the baseline colour. */
  baseline: boolean;
}

/** Horizontal bars with their values, ours green, baselines blue. */
export function barChart(title: string, unit: string, bars: Bar[]): string {
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const rows = bars.map((b, i) => {
    const w = (b.value / max) * 400;
    return `<text x="0" y="${i * 30 + 19}">${esc(b.label)}</text><rect x="250" y="${i * 30 + 4}" width="${w.toFixed(1)}" height="22" fill="${b.baseline ? "#37c" : "#2a7"}"/><text x="${(256 + w).toFixed(1)}" y="${i * 30 + 20}">${esc(fmt(b.value))} ${esc(unit)}</text>`;
  });
  return `<h2>${esc(title)}</h2><svg width="${W}" height="${bars.length * 30 + 8}" font-family="sans-serif" font-size="12">${rows.join("")}</svg>`;
}

/** A plain HTML table (the steps behind the charts). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number, tag: string) => `<${tag} style="padding:2px 8px;text-align:${typeof v === "number" ? "right" : "left"}">${esc(typeof v === "number" ? String(v) : v)}</${tag}>`;
  return `<table style="border-collapse:collapse;font-size:12px"><tr>${headers.map((h) => cell(h, "th")).join("")}</tr>${rows.map((r) => `<tr style="border-top:1px solid #ddd">${r.map((v) => cell(v, "td")).join("")}</tr>`).join("")}</table>`;
}

/** Writes bench/results/<suite>-<stamp>.html and the JSON (at `jsonPath` if given); prints both paths. */
export function writeBenchResults(suite: string, heading: string, note: string, parts: string[], data: object, jsonPath?: string): { html: string; json: string } {
  mkdirSync("bench/results", { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const html = path.join("bench/results", `${suite}-${stamp}.html`);
  const json = jsonPath ?? path.join("bench/results", `${suite}-${stamp}.json`);
  writeFileSync(html, `<!doctype html><meta charset="utf-8"><title>Echostreamhub ${esc(suite)} bench</title>
<body style="font-family:sans-serif;max-width:960px;margin:2rem auto">
<h1>${esc(heading)}</h1>
<p>${esc(new Date().toISOString())} · ${esc(machineLine(runMachine()))}</p>
<p>${esc(note)}</p>
${parts.join("\n")}</body>`);
  writeFileSync(json, JSON.stringify({ machine: runMachine(), ...data }, null, 2));
  console.log(`\nchart: ${html}\njson: ${json}`);
  return { html, json };
}
