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

  get size(): number {
    return this.#streams.size;
  }

  /** A stream as just written (or heard of): indexed, replaced or dropped. */
  apply(s: S): void {
    const held = this.#streams.get(s.id);
    if (held && held.updatedAt > s.updatedAt) return; // an older write arriving late
    if (!searchable(s)) return this.drop(s.id);
    this.#streams.set(s.id, s);
    if (held && sameText(held, s)) return; // a status or length change: same words
    this.#index.upsert({ id: s.id, title: s.title, description: s.description, ownerName: s.ownerName, category: s.category ?? "general", language: s.language ?? "", kind: s.kind, createdAt: s.createdAt, updatedAt: s.updatedAt });
  }

  drop(id: string): void {
    this.#streams.delete(id);
    this.#index.remove(id);
  }

  /** The whole catalog, as read from the store: what is not in it any more goes. */
  rebuild(all: S[]): void {
    for (const s of all) this.apply(s);
    this.#index.retain(new Set(all.filter(searchable).map((s) => s.id)));
    for (const id of [...this.#streams.keys()]) if (!this.#index.has(id)) this.#streams.delete(id);
  }

  search(q: SearchQuery): SearchAnswer<S> {
    const page = this.#index.search(q);
    return { total: page.total, offset: page.offset, items: page.ids.flatMap((id) => this.#streams.get(id) ?? []), facets: page.facets };
  }
}

function sameText(a: Stream, b: Stream): boolean {
  return a.title === b.title && a.description === b.description && a.ownerName === b.ownerName && a.category === b.category && a.language === b.language && a.kind === b.kind;
}
