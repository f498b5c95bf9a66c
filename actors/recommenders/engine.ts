/**
 * The recommender of one node: the current model version (item index + weights), the users'
 * histories from the last feature read, training in a worker thread on a schedule (the current
 * version serves meanwhile), versions persisted in DATA_DIR/models, and per-user lists cached
 * until the user's new events invalidate them.
 */
import { Worker } from "node:worker_threads";
import type { AnalyticsStore } from "../../analytics/store.js";
import type { AppConfig } from "../../lib/config.js";
import { confidence, readFeatures, readResume, type Pair } from "./features.js";
import { DEFAULT_MODEL, foldInItems, topK, userVector, type History, type Weights } from "./model.js";
import type { Interaction, Item } from "./dataset.js";
import { annTopK, type ItemIndex } from "./ann.js";
import type { ModelStore, Version } from "./model-store.js";
import { blend, contentScore, profile } from "./content.js";
import { continueWatching, forYouWhy, fromFollowed, names, resumeAt, type FollowedCreator } from "./rows.js";

export interface CatalogEntry {
  id: string;
  title: string;
  kind: "live" | "vod";
  status: string;
  category?: string;
  language?: string;
  ownerId: string;
  ownerName?: string;
  /** A video's probed length (absent for live streams and videos encoded before it was kept). */
  durationSec?: number;
  createdAt?: number;
}

export interface Rec {
  id: string;
  title: string;
  kind: string;
  category: string;
  /** The creator's name and the video's length, for the card. */
  ownerName?: string;
  durationSec?: number;
  /** Continue watching: where the user left off, seconds. */
  resumeSec?: number;
  score: number;
}

export interface Row {
  title: string;
  reason: "continue" | "following" | "personal" | "live" | "similar" | "popular";
  /** Why these items, in words ("Because you watched X", "From creators you follow: Y"). */
  why: string;
  items: Rec[];
}

/** How long an accepted event may take to be stored (the ingest lag, with margin). */
const INGEST_LAG_MS = 5000;
/** Videos' lengths from the catalog: completion is measured against these, not a player's word. */
const durationsOf = (catalog: CatalogEntry[]): Map<string, number> => new Map(catalog.flatMap((s) => (s.kind === "vod" && s.durationSec !== undefined ? [[s.id, s.durationSec] as const] : [])));
const playable = (s: CatalogEntry) => (s.kind === "vod" ? s.status === "ready" : s.status === "live");

export class RecEngine {
  readonly #cfg: AppConfig;
  readonly #store: AnalyticsStore;
  readonly #log: { info(m: string): void; warn(m: string): void };
  readonly #models: { local: ModelStore; shared?: ModelStore | undefined };
  #current: (Version & { position: Map<string, number> }) | undefined;
  #histories = new Map<string, Map<string, number>>(); // user -> stream -> confidence
  #hidden = new Map<string, Set<string>>(); // user -> streams they said "not interested" to
  #progress = new Map<string, Pair[]>(); // user -> their pairs with a playhead (Continue watching)
  #popularity = new Map<string, number>();
  readonly #cache = new Map<string, { at: number; rows: Row[]; personal: boolean; followKey: string }>();
  /** Users with new events, and when: their lists are recomputed from the store for a few
   *  seconds after (events take up to the ingest lag to land). */
  readonly #dirty = new Map<string, number>();
  /** Every user's last touch, kept for the ingest lag whoever reads it (a retrain re-marks these). */
  readonly #touchedAt = new Map<string, number>();
  #training: Promise<void> | undefined;

  constructor(cfg: AppConfig, store: AnalyticsStore, models: { local: ModelStore; shared?: ModelStore | undefined }, log: { info(m: string): void; warn(m: string): void }) {
    this.#cfg = cfg;
    this.#store = store;
    this.#models = models;
    this.#log = log;
  }

  get version(): Omit<Version, "weights" | "items"> & { items: number } | undefined {
    const c = this.#current;
    return c && { version: c.version, trainedAt: c.trainedAt, backend: c.backend, trainMs: c.trainMs, items: c.items.length };
  }

  /** The user has new events: their next list is computed afresh, with those events. */
  touch(userId: string): void {
    const now = Date.now();
    this.#cache.delete(userId);
    this.#dirty.set(userId, now);
    this.#touchedAt.set(userId, now);
    // Bounded on every node (a scorer-only node never retrains): old marks are dropped as new come.
    if (this.#touchedAt.size > 10_000) for (const [u, t] of this.#touchedAt) if (now - t > INGEST_LAG_MS) this.#touchedAt.delete(u);
    if (this.#dirty.size > 10_000) for (const [u, t] of this.#dirty) if (now - t > 60_000) this.#dirty.delete(u);
  }

  /** A full retrain from the analytics store (one at a time). */
  train(catalog: CatalogEntry[]): Promise<void> {
    this.#training ??= this.#train(catalog).finally(() => (this.#training = undefined));
    return this.#training;
  }

  async #train(catalog: CatalogEntry[]): Promise<void> {
    const now = Date.now();
    const f = await readFeatures(this.#store, now, this.#cfg.recs.windowDays, undefined, durationsOf(catalog));
    // Users touched within the ingest lag of this read (or while it ran) may have events it did
    // not see: they are marked again, so their next list is read afresh, even if a list served
    // meanwhile had cleared their mark (clearing them all lost those events until the next retrain).
    for (const [user, at] of this.#dirty) if (at < now - INGEST_LAG_MS) this.#dirty.delete(user);
    for (const [user, at] of this.#touchedAt) {
      if (at < now - INGEST_LAG_MS) this.#touchedAt.delete(user);
      else this.#dirty.set(user, at);
    }
    this.#popularity = f.popularity;
    this.#histories = new Map();
    this.#hidden = hiddenOf(f.pairs);
    this.#progress = progressOf(f.pairs);
    for (const p of f.pairs) {
      if (p.hidden) continue; // a hidden stream is not history (never a "Because you watched" seed)
      let h = this.#histories.get(p.user);
      if (!h) this.#histories.set(p.user, (h = new Map<string, number>()));
      h.set(p.stream, confidence(p, f.sessionMs.get(p.user) ?? 0, now));
    }
    this.#cache.clear();
    const items = catalog.map((s) => s.id);
    const index = new Map(items.map((id, i) => [id, i]));
    const users = [...this.#histories.keys()];
    const interactions: Interaction[] = [];
    users.forEach((u, ui) => {
      for (const [stream, weight] of this.#histories.get(u) ?? []) {
        const item = index.get(stream);
        if (item !== undefined) interactions.push({ user: ui, item, weight, ts: 0 });
      }
    });
    // The model learns to complete histories: with no user of two items there is nothing to learn (it would serve random weights).
    if (interactions.length < 10 || items.length < 2 || ![...this.#histories.values()].some((h) => h.size >= 2)) return this.#log.info(`recommenders: ${interactions.length} interactions: too few to train; popularity serves`);
    const options = { ...DEFAULT_MODEL, dim: this.#cfg.recs.dim, maxSteps: this.#cfg.recs.maxSteps };
    const done = await trainInWorker(items.length, interactions, options);
    const version = Math.max(this.#current?.version ?? 0, (await this.#models.shared?.latestVersion()) ?? 0) + 1;
    const v: Version = { version, trainedAt: Date.now(), backend: done.backend, trainMs: done.ms, items, weights: done.weights, ...(done.index ? { index: done.index } : {}) };
    this.#install(v);
    await this.#models.local.save(v);
    await this.#models.shared?.save(v);
    this.#log.info(`recommenders: model v${version} trained (${done.backend}, ${users.length} users, ${items.length} items, ${interactions.length} interactions, ${(done.ms / 1000).toFixed(1)} s)`);
  }

  #install(v: Version): void {
    this.#current = { ...v, position: new Map(v.items.map((id, i) => [id, i])) };
    this.#cache.clear();
  }

  /** The rows for a user: personal when there is a model and a history, else popular ones. */
  async recommend(userId: string, catalog: CatalogEntry[], limit: number, follows: readonly FollowedCreator[] = []): Promise<{ rows: Row[]; personal: boolean; version: number }> {
    const hit = this.#cache.get(userId);
    const touched = this.#dirty.get(userId);
    const followKey = follows.map((f) => f.creatorId).join(",");
    if (hit && Date.now() - hit.at < this.#cfg.recs.cacheMs && touched === undefined && hit.followKey === followKey) return { rows: limitRows(hit.rows, limit), personal: hit.personal, version: this.#current?.version ?? 0 };
    if (touched !== undefined) {
      const reading = Date.now();
      await this.#refreshUser(userId, catalog);
      // Cleared only when this read began after the ingest lag of the last touch (and no newer touch came).
      if (reading - touched > INGEST_LAG_MS && this.#dirty.get(userId) === touched) this.#dirty.delete(userId);
    }
    const byId = new Map(catalog.map((s) => [s.id, s]));
    const history = this.#histories.get(userId) ?? new Map<string, number>();
    const hidden = this.#hidden.get(userId) ?? new Set<string>();
    // Filters: playable now (a ready video, a live stream: what the viewer is entitled to
    // start), not watched already, not hidden by the user.
    const ok = (id: string) => {
      const s = byId.get(id);
      return s !== undefined && playable(s) && !history.has(id) && !hidden.has(id);
    };
    const rows: Row[] = [];
    const resume = continueWatching(this.#progress.get(userId) ?? [], byId, hidden);
    if (resume.length) rows.push({ title: "Continue watching", reason: "continue", why: "Pick up where you left off", items: resume.map((r) => ({ ...card(r.entry, 0), resumeSec: Math.round(r.resumeMs / 1000) })) });
    const followed = fromFollowed(follows, catalog, hidden);
    if (followed.length) rows.push({ title: "Following", reason: "following", why: `New from creators you follow: ${names(follows.map((f) => f.creatorName))}`, items: followed.slice(0, 100).map((s) => card(s, 0)) });
    const model = this.#current;
    let personal = false;
    if (model && history.size > 0) {
      personal = true;
      const { ids, index, weights } = this.#withNewItems(model, catalog);
      const h: History = new Map();
      for (const [stream, w] of history) {
        const i = index.get(stream);
        if (i !== undefined) h.set(i, w);
      }
      const u = userVector(weights, h);
      // The model's top 200, re-ranked with what the items are (content.ts): the user's
      // categories, creators, languages, live/VOD, and whom they follow.
      const features = (s: CatalogEntry) => ({ category: s.category ?? "general", creator: s.ownerId, language: s.language ?? "", live: s.kind === "live" });
      const taste = profile([...history].flatMap(([id, w]) => {
        const s = byId.get(id);
        return s ? [[features(s), w] as const] : [];
      }), new Set(follows.map((f) => f.creatorId)));
      const candidates = best(model, weights, u, 200, (i) => !ok(ids[i] ?? "")).map((r) => ({ id: ids[r.item] ?? "", score: r.score }));
      const scored = blend(candidates, (c) => {
        const s = byId.get(c.id);
        return s ? contentScore(taste, features(s)) : 0;
      }).slice(0, 100);
      const strongest = [...history.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
      const followedNames = follows.filter((f) => scored.some((r) => byId.get(r.id)?.ownerId === f.creatorId)).map((f) => f.creatorName);
      rows.push({ title: "For you", reason: "personal", why: forYouWhy(strongest.slice(0, 3).map((id) => byId.get(id)?.title ?? id), followedNames), items: scored.map((r) => rec(byId, r.id, r.score)) });
      const live = scored.filter((r) => byId.get(r.id)?.kind === "live");
      if (live.length) rows.push({ title: "Live now for you", reason: "live", why: "Live now, picked from what you watch", items: live.map((r) => rec(byId, r.id, r.score)) });
      const last = strongest[0];
      const li = last === undefined ? undefined : index.get(last);
      if (last !== undefined && li !== undefined) {
        const similar = topK(weights, weights.v.slice(li * weights.dim, (li + 1) * weights.dim), 50, (i) => i === li || !ok(ids[i] ?? ""));
        const title = byId.get(last)?.title ?? last;
        rows.push({ title: `Because you watched ${title}`, reason: "similar", why: `Watched by people who watched ${title}`, items: similar.map((r) => rec(byId, ids[r.item] ?? "", r.score)) });
      }
    }
    rows.push(...this.#popularRows(catalog, ok));
    this.#cache.set(userId, { at: Date.now(), rows, personal, followKey });
    return { rows: limitRows(rows, limit), personal, version: model?.version ?? 0 };
  }

  #grown: { key: string; ids: string[]; index: Map<string, number>; weights: Weights } | undefined;

  /** The model's items plus catalog items added since it was trained (folded in from their
   *  category's mean), memoised per version and catalog size. */
  #withNewItems(model: Version & { position: Map<string, number> }, catalog: CatalogEntry[]): { ids: string[]; index: Map<string, number>; weights: Weights } {
    const extra = catalog.filter((s) => !model.position.has(s.id)).map((s) => s.id);
    const key = `${model.version}:${extra.length}:${extra.at(-1) ?? ""}`;
    if (this.#grown?.key === key) return this.#grown;
    const ids = [...model.items, ...extra];
    const catOf = new Map(catalog.map((s) => [s.id, s.category ?? "general"]));
    const items: Item[] = ids.map((id, i) => ({ id: i, category: hash(catOf.get(id) ?? "general"), creator: 0, language: 0, live: false, popularity: 0 }));
    this.#grown = { key, ids, index: new Map(ids.map((id, i) => [id, i])), weights: foldInItems(model.weights, items) };
    return this.#grown;
  }

  /** Cold start and the rows below personal ones: trending overall, then per category. */
  #popularRows(catalog: CatalogEntry[], ok: (id: string) => boolean): Row[] {
    const pop = (s: CatalogEntry) => this.#popularity.get(s.id) ?? 0;
    const candidates = catalog.filter((s) => ok(s.id)).sort((a, b) => pop(b) - pop(a) || b.id.localeCompare(a.id));
    const days = this.#cfg.recs.windowDays;
    const rows: Row[] = [{ title: "Trending", reason: "popular", why: `Most viewers in the last ${String(days)} days`, items: candidates.slice(0, 100).map((s) => card(s, pop(s))) }];
    const cats = new Map<string, CatalogEntry[]>();
    for (const s of candidates) {
      const c = s.category ?? "general";
      cats.set(c, [...(cats.get(c) ?? []), s]);
    }
    for (const [c, list] of [...cats].sort((a, b) => b[1].length - a[1].length).slice(0, 5)) {
      rows.push({ title: `Popular in ${c}`, reason: "popular", why: `Most viewers in ${c} in the last ${String(days)} days`, items: list.slice(0, 100).map((s) => card(s, pop(s))) });
    }
    return rows;
  }

  async #refreshUser(userId: string, catalog: CatalogEntry[]): Promise<void> {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(userId)) return;
    const now = Date.now();
    const f = await readFeatures(this.#store, now, this.#cfg.recs.windowDays, userId, durationsOf(catalog)).catch(() => undefined);
    if (!f) return;
    const h = new Map<string, number>();
    for (const p of f.pairs) if (!p.hidden) h.set(p.stream, confidence(p, f.sessionMs.get(userId) ?? 0, now));
    this.#histories.set(userId, h);
    this.#hidden.set(userId, hiddenOf(f.pairs).get(userId) ?? new Set());
    this.#progress.set(userId, progressOf(f.pairs).get(userId) ?? []);
  }

  /** Where a user left off in a video (ms), or undefined: never started, or finished. */
  async resume(userId: string, streamId: string, durationSec: number | undefined): Promise<number | undefined> {
    const r = await readResume(this.#store, Date.now(), this.#cfg.recs.windowDays, userId, streamId);
    return r === undefined ? undefined : resumeAt(r.positionMs, durationSec);
  }

  /** The newest version in the shared store (distributed) or on disk, if newer than ours. */
  async loadLatest(): Promise<number> {
    const v = (await this.#models.shared?.latest()) ?? (await this.#models.local.latest());
    if (v && v.version > (this.#current?.version ?? 0)) {
      this.#install(v);
      this.#log.info(`recommenders: serving model v${v.version} (trained ${new Date(v.trainedAt).toISOString()}, ${v.items.length} items)`);
    }
    return this.#current?.version ?? 0;
  }
}

function progressOf(pairs: Pair[]): Map<string, Pair[]> {
  const out = new Map<string, Pair[]>();
  for (const p of pairs) {
    if (p.lastPositionMs <= 0) continue;
    const list = out.get(p.user);
    if (list) list.push(p);
    else out.set(p.user, [p]);
  }
  return out;
}

function hiddenOf(pairs: Pair[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of pairs) if (p.hidden) out.set(p.user, (out.get(p.user) ?? new Set()).add(p.stream));
  return out;
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Top-k over all items: through the index when the model has one (its trained items), plus
 *  an exact pass over items folded in since; exact over everything otherwise. */
function best(model: Version, w: Weights, u: Float32Array, k: number, exclude: (i: number) => boolean): { item: number; score: number }[] {
  if (!model.index) return topK(w, u, k, exclude);
  const fromIndex = annTopK(w, model.index, u, k, exclude);
  const added = w.items - model.weights.items;
  if (added <= 0) return fromIndex;
  const tail = topK(w, u, k, (i) => i < model.weights.items || exclude(i));
  return [...fromIndex, ...tail].sort((a, b) => b.score - a.score).slice(0, k);
}

function rec(byId: Map<string, CatalogEntry>, id: string, score: number): Rec {
  const s = byId.get(id);
  return s ? card(s, score) : { id, title: id, kind: "vod", category: "general", score: Math.round(score * 1000) / 1000 };
}

/** A catalog entry as a row's item (what a card shows). */
function card(s: CatalogEntry, score: number): Rec {
  return { id: s.id, title: s.title, kind: s.kind, category: s.category ?? "general", ...(s.ownerName === undefined ? {} : { ownerName: s.ownerName }), ...(s.durationSec === undefined ? {} : { durationSec: s.durationSec }), score: Math.round(score * 1000) / 1000 };
}

function limitRows(rows: Row[], limit: number): Row[] {
  return rows.map((r) => ({ ...r, items: r.items.slice(0, limit) })).filter((r) => r.items.length > 0);
}

function trainInWorker(items: number, interactions: Interaction[], options: typeof DEFAULT_MODEL): Promise<{ weights: Weights; index?: ItemIndex; backend: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./train-worker.mjs", import.meta.url), { workerData: { items, interactions, options } });
    worker.on("message", (m: { t: string; weights?: Weights; index?: ItemIndex; backend?: string; ms?: number }) => {
      if (m.t === "done" && m.weights) resolve({ weights: m.weights, ...(m.index ? { index: m.index } : {}), backend: m.backend ?? "", ms: m.ms ?? 0 });
    });
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`training worker exited with ${code}`)));
  });
}
