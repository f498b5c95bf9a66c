/**
 * Search over the catalog (streams.search): the watchable, listed streams (public, live or ready)
 * in a SearchIndex, with the streams themselves so an answer needs no store reads. Every streams
 * actor keeps one: built from the store at start and every REBUILD_MS, and changed by each catalog
 * write, its own and (over `streams.indexed`) other nodes'.
 */
import { isListed, type Watchable } from "./visibility.js";
import { SearchIndex, type SearchQuery } from "./search-index.js";
import type { SearchAnswer } from "../../protocol/search.js";

/** What search reads of a stream (streams.service.ts Stream). */
export interface Stream extends Watchable {
  id: string;
  title: string;
  description: string;
  ownerName: string;
  category?: string;
  language?: string;
  kind: "live" | "vod";
  status: string;
  createdAt: number;
  updatedAt: number;
}


/** What search finds: listed and watchable now. */
export function searchable(s: Stream): boolean {
  return isListed(s) && (s.status === "live" || s.status === "ready");
}

export class CatalogSearch<S extends Stream> {
  readonly #index = new SearchIndex();
  readonly #streams = new Map<string, S>();
  /** The newest store revision applied per stream (Infinity once deleted: ids are never reused),
   *  and when: a late or replayed older write never brings back what a newer one took out. */
  readonly #rev = new Map<string, { rev: number; at: number }>();

  get size(): number {
    return this.#streams.size;
  }

  /** A stream as written at store revision `rev` (or heard of): indexed, replaced or dropped. */
  apply(s: S, rev: number): void {
    if (rev <= (this.#rev.get(s.id)?.rev ?? 0)) return; // that write or a newer one is applied
    this.#rev.set(s.id, { rev, at: Date.now() });
    const held = this.#streams.get(s.id);
    if (!searchable(s)) {
      this.#streams.delete(s.id);
      this.#index.remove(s.id);
      return;
    }
    this.#streams.set(s.id, s);
    if (held && sameText(held, s)) return; // a status or length change: same words
    this.#index.upsert({ id: s.id, title: s.title, description: s.description, ownerName: s.ownerName, category: s.category ?? "general", language: s.language ?? "", kind: s.kind, createdAt: s.createdAt, updatedAt: rev });
  }

  /** The stream was deleted. */
  drop(id: string): void {
    this.#rev.set(id, { rev: Infinity, at: Date.now() });
    this.#streams.delete(id);
    this.#index.remove(id);
  }

  /** The whole catalog as read from the store by a read that began at `readAt`: what is not in
   *  it was deleted, unless it was applied after the read began (created meanwhile). */
  rebuild(all: { value: S; revision: number }[], readAt: number): void {
    for (const e of all) this.apply(e.value, e.revision);
    const present = new Set(all.map((e) => e.value.id));
    for (const [id, r] of this.#rev) if (!present.has(id) && r.at < readAt && r.rev !== Infinity) this.drop(id);
  }

  search(q: SearchQuery): SearchAnswer<S> {
    const page = this.#index.search(q);
    return { total: page.total, offset: page.offset, items: page.ids.flatMap((id) => this.#streams.get(id) ?? []), facets: page.facets, ...(page.approximate ? { approximate: true } : {}) };
  }
}

function sameText(a: Stream, b: Stream): boolean {
  return a.title === b.title && a.description === b.description && a.ownerName === b.ownerName && a.category === b.category && a.language === b.language && a.kind === b.kind;
}
