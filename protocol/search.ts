/**
 * Catalog search (GET /api/search, the streams actor's `search`): its parameters, declared once
 * for the actor's validator and the app's types. The answer: `{total, offset, items, facets}`,
 * items being streams as GET /api/streams/:id shows them, best first; `facets.category` counts the
 * matches per category before the category filter.
 */
import { STREAM_CATEGORY_PATTERN, STREAM_LANGUAGE_PATTERN } from "./ids.js";

export interface SearchParams {
  /** Words; each matches as a prefix, with a typo allowed in words of 4+ letters. */
  q?: string;
  kind?: "live" | "vod";
  category?: string;
  language?: string;
  offset?: number;
  limit?: number;
}

export const SEARCH_MAX_OFFSET = 1000;
export const SEARCH_MAX_LIMIT = 50;

export const SEARCH_PARAMS = {
  q: { type: "string", max: 200, optional: true },
  kind: { type: "enum", values: ["live", "vod"], optional: true },
  category: { type: "string", min: 1, max: 32, pattern: STREAM_CATEGORY_PATTERN, optional: true },
  language: { type: "string", min: 2, max: 3, pattern: STREAM_LANGUAGE_PATTERN, optional: true },
  offset: { type: "number", integer: true, min: 0, max: SEARCH_MAX_OFFSET, optional: true, convert: true },
  limit: { type: "number", integer: true, min: 1, max: SEARCH_MAX_LIMIT, optional: true, convert: true },
} as const;

/** The answer, over the caller's view of a stream `S`. */
export interface SearchAnswer<S> {
  total: number;
  offset: number;
  items: S[];
  facets: { category: Record<string, number> };
  /** The query was too broad to count exactly (a short prefix over a big catalog): `total` and
   *  the facets count what was examined, the best matches are still first. */
  approximate?: true;
}
