/**
 * `npm run bench -- search [--streams 100000] [--queries 2000] [--json out.json]`
 * Catalog search over a synthetic catalog (titles, descriptions and creators drawn from a Zipfian
 * vocabulary of 8,000 made-up words; 8 categories, 5 languages, 10% live):
 * 1. ours through the actor: `streams.search` called on a real streams actor (validator, access
 *    and all) whose index was built from a real sqlite store at start;
 * 2. ours, the index alone (what a call adds is the difference);
 * 3. baseline: the same matching (every word a prefix, a typo in words of 4+ letters, ranked the
 *    same way) by scanning every stream, no index: what search costs without one;
 * 4. reference: the old home page's way (a substring of the title, unranked, no typos).
 * Queries: a whole word, a 3-letter prefix, two words, a word with a typo, a word with a category
 * filter, live only, and no words with a category (the chips). Target: p99 <= 20 ms at 100,000.
 * Also: build time, heap per stream, and an update's cost (a rename re-indexed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { DEFAULTS } from "../lib/config.js";
import { SqliteStore } from "../store/store-sqlite.js";
import { DirBlobs } from "../blobs/blobs-dir.js";
import { roomsService } from "../actors/rooms/rooms.service.js";
import { streamsService, type Stream } from "../actors/streams/streams.service.js";
import { SearchIndex, words, type SearchDoc, type SearchQuery } from "../actors/streams/search-index.js";
import { barChart, table, writeBenchResults } from "./chart.js";
import { percentile } from "./webrtc-rtp.js";

const arg = (argv: string[], name: string, d: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};

const CATEGORIES = ["music", "gaming", "cooking", "science", "sports", "news", "travel", "talk"];
const LANGUAGES = ["en", "fr", "de", "es", "ja"];

/** A deterministic generator (the same catalog and queries every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function vocabulary(n: number, rand: () => number): string[] {
  const syl = ["ka", "ro", "mi", "ten", "sa", "lo", "vi", "dan", "pe", "qu", "ar", "el", "in", "zo", "bra", "st", "or", "ne", "ul", "ph"];
  const out = new Set<string>();
  while (out.size < n) out.add(Array.from({ length: 2 + Math.floor(rand() * 3) }, () => syl[Math.floor(rand() * syl.length)]).join(""));
  return [...out];
}

export function catalog(n: number): Stream[] {
  const rand = rng(42);
  const vocab = vocabulary(8000, rand);
  const zipf = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.pow(rand(), 2.2) * vocab.length))] as string;
  const phrase = (k: number) => Array.from({ length: k }, zipf).join(" ");
  const creators = Array.from({ length: 5000 }, (_, i) => `${zipf()}${String(i)}`);
  return Array.from({ length: n }, (_, i) => {
    const live = rand() < 0.1;
    const t = 1_700_000_000_000 + i * 1000;
    return {
      id: `s${String(i).padStart(7, "0")}`,
      ownerId: `u${String(i % 5000)}`,
      ownerName: creators[i % 5000] as string,
      title: phrase(3 + Math.floor(rand() * 5)),
      description: phrase(10 + Math.floor(rand() * 30)),
      kind: live ? "live" : "vod",
      status: live ? "live" : "ready",
      createdAt: t,
      updatedAt: t,
      category: CATEGORIES[Math.floor(rand() * CATEGORIES.length)] as string,
      language: LANGUAGES[Math.floor(rand() * LANGUAGES.length)] as string,
      visibility: "public",
    };
  });
}

export function queries(all: Stream[], n: number): SearchQuery[] {
  const rand = rng(7);
  const pick = () => all[Math.floor(rand() * all.length)] as Stream;
  const word = () => {
    const w = words(pick().title);
    return w[Math.floor(rand() * w.length)] ?? "ka";
  };
  const typo = (w: string) => (w.length < 4 ? w : `${w.slice(0, 1)}${w.slice(2, 3)}${w.slice(1, 2)}${w.slice(3)}`);
  const makers: (() => SearchQuery)[] = [
    () => ({ q: word() }),
    () => ({ q: word().slice(0, 3) }),
    () => ({ q: `${word()} ${word().slice(0, 4)}` }),
    () => ({ q: typo(word()) }),
    () => ({ q: word(), category: CATEGORIES[Math.floor(rand() * CATEGORIES.length)] }),
    () => ({ q: word().slice(0, 4), kind: "live" }),
    () => ({ category: CATEGORIES[Math.floor(rand() * CATEGORIES.length)] }),
  ];
  return Array.from({ length: n }, (_, i) => (makers[i % makers.length] as () => SearchQuery)());
}

interface Timing {
  p50: number;
  p99: number;
  max: number;
  perSec: number;
}

async function timeAll(qs: SearchQuery[], run: (q: SearchQuery) => unknown): Promise<Timing> {
  const ms: number[] = [];
  const t0 = performance.now();
  for (const q of qs) {
    const s = performance.now();
    await run(q);
    ms.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms[ms.length - 1] ?? 0, perSec: (qs.length / total) * 1000 };
}

/** The same matching without an index: every stream's words checked against every query word. */
function scan(all: { doc: SearchDoc; words: string[] }[], q: SearchQuery): number {
  const qw = words(q.q ?? "").slice(0, 8);
  let hits = 0;
  for (const { doc, words: dw } of all) {
    if ((q.kind && doc.kind !== q.kind) || (q.category && doc.category !== q.category)) continue;
    if (qw.every((w) => dw.some((d) => d.startsWith(w) || (w.length >= 4 && prefixWithin(w, d, w.length >= 8 ? 2 : 1))))) hits++;
  }
  return hits;
}

/** Is some prefix of `d` within `k` edits of `w` (optimal string alignment)? */
function prefixWithin(w: string, d: string, k: number): boolean {
  let above: number[] | undefined;
  let row = Array.from({ length: w.length + 1 }, (_, i) => i);
  for (let j = 1; j <= Math.min(d.length, w.length + k); j++) {
    const next = [j];
    for (let i = 1; i <= w.length; i++) {
      let v = Math.min((next[i - 1] as number) + 1, (row[i] as number) + 1, (row[i - 1] as number) + (w[i - 1] === d[j - 1] ? 0 : 1));
      if (above && i > 1 && w[i - 1] === d[j - 2] && w[i - 2] === d[j - 1]) v = Math.min(v, (above[i - 2] as number) + 1);
      next.push(v);
    }
    if ((next[w.length] as number) <= k) return true;
    if (Math.min(...next) > k) return false;
    above = row;
    row = next;
  }
  return false;
}

export async function searchBench(argv: string[]): Promise<void> {
  const n = arg(argv, "streams", 100_000);
  const nq = arg(argv, "queries", 2000);
  const all = catalog(n);
  const qs = queries(all, nq);
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-bench-search-"));
  const store = new SqliteStore(path.join(dir, "s.sqlite"));
  try {
    console.log(`[search] writing ${n.toLocaleString("en")} streams to a sqlite store…`);
    for (let i = 0; i < all.length; i++) {
      await store.put("streams", (all[i] as Stream).id, all[i] as Stream);
      if ((i + 1) % 20_000 === 0) console.log(`[search]   ${(i + 1).toLocaleString("en")} / ${n.toLocaleString("en")}`);
    }
    const heap0 = (global.gc?.(), process.memoryUsage().heapUsed);
    const broker = new ServiceBroker({ nodeID: "bench-search", logger: false });
    broker.createService(roomsService(DEFAULTS, store));
    broker.createService(streamsService(store, DEFAULTS, new DirBlobs(path.join(dir, "blobs"))));
    const b0 = performance.now();
    await broker.start(); // the streams actor builds its index from the store here
    const startMs = performance.now() - b0;
    const heapPerStream = (process.memoryUsage().heapUsed - heap0) / n;
    console.log(`[search] actor started with its index in ${(startMs / 1000).toFixed(1)} s (store read included); heap ≈ ${Math.round(heapPerStream)} B per stream`);
    // The index alone, for the difference a call makes.
    const ix = new SearchIndex();
    const docs = all.map((s): SearchDoc => ({ id: s.id, title: s.title, description: s.description, ownerName: s.ownerName, category: s.category ?? "", language: s.language ?? "", kind: s.kind, createdAt: s.createdAt, updatedAt: s.updatedAt }));
    const i0 = performance.now();
    for (const d of docs) ix.upsert(d);
    const buildMs = performance.now() - i0;
    const u0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const d = docs[i * 37 % docs.length] as SearchDoc;
      ix.upsert({ ...d, title: `${d.title} renamed`, updatedAt: d.updatedAt + 1 + i });
    }
    const updateUs = ((performance.now() - u0) / 1000) * 1000;
    console.log(`[search] index alone built in ${(buildMs / 1000).toFixed(2)} s; an update (rename) costs ${updateUs.toFixed(1)} µs`);
    const warm = qs.slice(0, 100);
    for (const q of warm) await broker.call("streams.search", q);
    console.log(`[search] ${String(nq)} queries through the actor…`);
    const actor = await timeAll(qs, (q) => broker.call("streams.search", q));
    const alone = await timeAll(qs, (q) => ix.search(q));
    const scanDocs = docs.map((doc) => ({ doc, words: [...new Set([...words(doc.title), ...words(doc.ownerName), ...words(`${doc.category} ${doc.language}`), ...words(doc.description, 64)])] }));
    // Ten of each kind of query (a scan of 100k streams takes up to seconds each).
    const scanQs = qs.slice(0, Math.min(nq, 70));
    console.log(`[search] ${String(scanQs.length)} queries by scanning (no index)…`);
    const scanned = await timeAll(scanQs, (q) => scan(scanDocs, q));
    const titles = docs.map((d) => d.title.toLowerCase());
    const substring = await timeAll(qs, (q) => {
      const t = (q.q ?? "").toLowerCase();
      return titles.filter((x) => x.includes(t)).length;
    });
    await broker.stop();
    const rows: [string, Timing][] = [
      ["ours: streams.search through the actor", actor],
      ["ours: the index alone", alone],
      [`baseline: the same matching by scanning every stream (${String(scanQs.length)} queries)`, scanned],
      ["reference: title substring scan (the old home page: no ranking, no typos)", substring],
    ];
    console.log(`\n| ${n.toLocaleString("en")} streams | p50 ms | p99 ms | max ms | queries/s on one core |`);
    console.log("|---|---|---|---|---|");
    for (const [name, t] of rows) console.log(`| ${name} | ${t.p50.toFixed(2)} | ${t.p99.toFixed(2)} | ${t.max.toFixed(1)} | ${Math.round(t.perSec).toLocaleString("en")} |`);
    console.log(`target p99 <= 20 ms through the actor: ${actor.p99 <= 20 ? "MET" : "NOT MET"} (${actor.p99.toFixed(2)} ms) · scan / ours p99: ${(scanned.p99 / actor.p99).toFixed(0)}x`);
    const json = argv.indexOf("--json") >= 0 ? argv[argv.indexOf("--json") + 1] : undefined;
    writeBenchResults("search", "Catalog search: the streams actor's index vs scanning the catalog", `${n.toLocaleString("en")} streams, ${String(nq)} queries (whole word, prefix, two words, typo, with category, live only, chips), one core`, [
      barChart("p99 latency", "ms", rows.map(([label, t], i) => ({ label, value: Number(t.p99.toFixed(2)), baseline: i >= 2 }))),
      table(["", "p50 ms", "p99 ms", "max ms", "queries/s"], rows.map(([name, t]) => [name, t.p50.toFixed(2), t.p99.toFixed(2), t.max.toFixed(1), Math.round(t.perSec)])),
    ], { streams: n, queries: nq, startMs, buildMs, updateUs, heapPerStream, actor, alone, scanned, substring }, json);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
