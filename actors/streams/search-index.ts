/**
 * The catalog's search index: in memory, in every streams actor, built from the store at start and
 * kept current by the catalog's writes (streams.service.ts). Domain logic only, no framework.
 *
 * - Fields: title (weight 3), creator (2), category and language (1.5), description (1, its first
 *   64 words). Words are lower-cased, accents folded, split on anything not a letter or digit.
 * - Every query word matches index words it is a prefix of, and with one typo (two for words of 8+
 *   letters: an insertion, deletion or substitution, anywhere, the prefix included) when it has 4+
 *   letters. Exact beats prefix beats typo; rarer words weigh more (idf); all words must match.
 * - Filters (kind, category, language) narrow; `facets` counts categories over the matches before
 *   the category filter (so the chips show what else there is).
 * - Without words: the filtered catalog, live first, newest first.
 * Postings are append-only (a changed document gets a new number; dead numbers are skipped and
 * compacted away once they are a third of the index): a write costs its own words, not the index.
 */

import type { SearchParams } from "../../protocol/search.js";

export interface SearchDoc {
  id: string;
  title: string;
  description: string;
  ownerName: string;
  category: string;
  language: string;
  kind: "live" | "vod";
  createdAt: number;
  /** The write's time: an older version never replaces a newer one. */
  updatedAt: number;
}

/** A query: the wire's parameters (protocol/search.ts), validated by the actor. */
export type SearchQuery = SearchParams;

export interface SearchPage {
  total: number;
  offset: number;
  ids: string[];
  facets: { category: Record<string, number> };
  /** Too broad to count exactly: expansions or postings were capped (the best still come first). */
  approximate?: true;
}

const FIELD = { title: 1, owner: 2, tag: 4, description: 8 } as const;
const WEIGHT: [number, number][] = [
  [FIELD.title, 3],
  [FIELD.owner, 2],
  [FIELD.tag, 1.5],
  [FIELD.description, 1],
];
const DESCRIPTION_WORDS = 64;
const MAX_WORD = 32;
const MAX_QUERY_WORDS = 8;
/** Index words one query word may expand to (shortest first): bounds a short prefix. */
const MAX_EXPANSIONS = 256;
/** Postings one query may read: bounds the work of the broadest query (a guest may ask it). */
const MAX_POSTINGS = 400_000;

/** Lower case, accents folded, letters and digits only. */
export function words(text: string, max = Infinity): string[] {
  const out: string[] = [];
  for (const w of text.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (w === "") continue;
    out.push(w.length > MAX_WORD ? Array.from(w).slice(0, MAX_WORD).join("") : w); // whole characters
    if (out.length >= max) break;
  }
  return out;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  /** The index word ending here. */
  word?: string;
}

/** Per document number: the fields filters and ordering read, and the query's scratch space. */
class Columns {
  cap = 0;
  alive = new Uint8Array(0);
  live = new Uint8Array(0);
  cat = new Int32Array(0);
  lang = new Int32Array(0);
  created = new Float64Array(0);
  /** Scratch: this word's best score (valid where wordStamp == the word's token), the total so
   *  far and how many words matched (valid where queryStamp == the query's token). */
  word = new Float64Array(0);
  wordStamp = new Uint32Array(0);
  total = new Float64Array(0);
  matched = new Uint8Array(0);
  queryStamp = new Uint32Array(0);
  /** Scratch lists of document numbers (a word's matches, alternating). */
  lists: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];

  ensure(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(1024, this.cap * 2, n);
    const grow = <T extends Uint8Array | Int32Array | Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.alive = grow(this.alive, (k) => new Uint8Array(k));
    this.live = grow(this.live, (k) => new Uint8Array(k));
    this.cat = grow(this.cat, (k) => new Int32Array(k));
    this.lang = grow(this.lang, (k) => new Int32Array(k));
    this.created = grow(this.created, (k) => new Float64Array(k));
    this.word = new Float64Array(cap);
    this.wordStamp = new Uint32Array(cap);
    this.total = new Float64Array(cap);
    this.matched = new Uint8Array(cap);
    this.queryStamp = new Uint32Array(cap);
    this.lists = [new Int32Array(cap), new Int32Array(cap)];
    this.cap = cap;
  }
}

/** A hit being ranked: score, then live first, then newest, then id. */
type Hit = [num: number, score: number];

/** Matching documents (the first `count` of `nums`) and their scores (absent: all equal). */
interface Matches {
  nums: Int32Array;
  scores?: Float64Array;
  count: number;
  approximate?: boolean;
}

export class SearchIndex {
  readonly #numOf = new Map<string, number>();
  /** Document number -> document (undefined once replaced or removed). */
  #docs: (SearchDoc | undefined)[] = [];
  readonly #col = new Columns();
  /** word -> postings (number * 16 + field mask), append-only between compactions. */
  #postings = new Map<string, number[]>();
  /** Live documents per word (for idf). */
  readonly #df = new Map<string, number>();
  readonly #trie: TrieNode = { next: new Map() };
  /** Category and language codes (filters compare numbers). */
  readonly #codes = new Map<string, number>();
  #dead = 0;
  #entries = 0;
  #token = 0;

  get size(): number {
    return this.#numOf.size;
  }

  has(id: string): boolean {
    return this.#numOf.has(id);
  }

  /** Adds or replaces a document (an older version than the one held is ignored). */
  upsert(doc: SearchDoc): void {
    const heldNum = this.#numOf.get(doc.id);
    const held = heldNum === undefined ? undefined : this.#docs[heldNum];
    if (held && held.updatedAt > doc.updatedAt) return;
    if (heldNum !== undefined) this.#drop(heldNum);
    const num = this.#docs.length;
    this.#col.ensure(num + 1);
    this.#docs.push(doc);
    this.#numOf.set(doc.id, num);
    this.#setColumns(num, doc);
    for (const [word, mask] of docWords(doc)) {
      let list = this.#postings.get(word);
      if (!list) {
        this.#postings.set(word, (list = []));
        this.#addWord(word);
      }
      list.push(num * 16 + mask);
      this.#entries++;
      this.#df.set(word, (this.#df.get(word) ?? 0) + 1);
    }
  }

  remove(id: string): void {
    const num = this.#numOf.get(id);
    if (num !== undefined) this.#drop(num);
  }

  /** Keeps exactly these documents (a rebuild from the store). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of [...this.#numOf.keys()]) if (!ids.has(id)) this.remove(id);
  }

  search(query: SearchQuery): SearchPage {
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 20;
    const c = this.#col;
    const kind = query.kind === undefined ? -1 : query.kind === "live" ? 1 : 0;
    const lang = query.language === undefined ? -1 : (this.#codes.get(`l:${query.language}`) ?? -2);
    const cat = query.category === undefined ? -1 : (this.#codes.get(`c:${query.category}`) ?? -2);
    const qWords = [...new Set(words(query.q ?? ""))].slice(0, MAX_QUERY_WORDS);
    const { nums, scores, count, approximate } = qWords.length === 0 ? this.#all(kind, lang) : this.#match(qWords, kind, lang);
    const counts = new Int32Array(this.#codes.size);
    const best = new TopK(offset + limit, (a, b) => this.#before(a, b));
    let total = 0;
    for (let i = 0; i < count; i++) {
      const num = nums[i] as number;
      const k = c.cat[num] as number;
      counts[k] = (counts[k] as number) + 1;
      if (cat !== -1 && k !== cat) continue;
      total++;
      best.add(num, scores === undefined ? 0 : (scores[i] as number));
    }
    const facets: Record<string, number> = {};
    for (const [key, code] of this.#codes) if (key.startsWith("c:") && (counts[code] as number) > 0) facets[key.slice(2)] = counts[code] as number;
    return { total, offset, ids: best.sorted().slice(offset).map(([num]) => (this.#docs[num] as SearchDoc).id), facets: { category: facets }, ...(approximate ? { approximate: true as const } : {}) };
  }

  /** Does hit a rank before hit b? */
  #before(a: Hit, b: Hit): boolean {
    const c = this.#col;
    if (a[1] !== b[1]) return a[1] > b[1];
    if (c.live[a[0]] !== c.live[b[0]]) return c.live[a[0]] === 1;
    if (c.created[a[0]] !== c.created[b[0]]) return (c.created[a[0]] as number) > (c.created[b[0]] as number);
    return (this.#docs[a[0]] as SearchDoc).id < (this.#docs[b[0]] as SearchDoc).id;
  }

  /** Every live document passing the kind and language filters (no scores: all equal). */
  #all(kind: number, lang: number): Matches {
    const c = this.#col;
    const nums = new Int32Array(this.#numOf.size);
    let count = 0;
    for (let num = 0; num < this.#docs.length; num++) {
      if (c.alive[num] === 1 && (kind < 0 || c.live[num] === kind) && (lang === -1 || c.lang[num] === lang)) nums[count++] = num;
    }
    return { nums, count };
  }

  /** Documents matching every word, with their scores. */
  #match(qWords: string[], kind: number, lang: number): Matches {
    const c = this.#col;
    const n = Math.max(1, this.#numOf.size);
    // Each query word's candidates, the one with the fewest postings first (it bounds the rest).
    const expanded = qWords.map((w) => this.#expand(w));
    let approximate = expanded.some((e) => e.capped);
    const plans = expanded.map(({ found: cands }) => ({ cands, postings: cands.reduce((s, [word]) => s + (this.#postings.get(word)?.length ?? 0), 0) }));
    plans.sort((a, b) => a.postings - b.postings);
    let budget = MAX_POSTINGS;
    const query = this.#nextToken();
    let survivors = c.lists[0];
    let found = 0;
    for (let j = 0; j < plans.length; j++) {
      const token = this.#nextToken();
      const touched = c.lists[j % 2] as Int32Array;
      let t = 0;
      for (const [word, quality] of (plans[j] as { cands: [string, number][] }).cands) {
        const idf = Math.log(1 + n / (this.#df.get(word) ?? 1));
        const list = this.#postings.get(word) ?? [];
        if (list.length > budget) {
          approximate = true; // the best candidates (exact, then shortest) were read first
          break;
        }
        budget -= list.length;
        for (const p of list) {
          const num = Math.floor(p / 16);
          if (j === 0 ? c.alive[num] !== 1 || (kind >= 0 && c.live[num] !== kind) || (lang !== -1 && c.lang[num] !== lang) : c.queryStamp[num] !== query || c.matched[num] !== j) continue;
          const s = quality * idf * fieldWeight(p % 16);
          if (c.wordStamp[num] !== token) {
            c.wordStamp[num] = token;
            c.word[num] = s;
            touched[t++] = num;
          } else if (s > (c.word[num] as number)) c.word[num] = s;
        }
      }
      for (let i = 0; i < t; i++) {
        const num = touched[i] as number;
        if (j === 0) {
          c.queryStamp[num] = query;
          c.total[num] = 0;
        }
        c.total[num] = (c.total[num] as number) + (c.word[num] as number);
        c.matched[num] = j + 1;
      }
      survivors = touched;
      found = t;
      if (t === 0) break;
    }
    const nums = new Int32Array(found);
    const scores = new Float64Array(found);
    let count = 0;
    for (let i = 0; i < found; i++) {
      const num = survivors[i] as number;
      if (c.matched[num] !== plans.length) continue;
      nums[count] = num;
      scores[count++] = c.total[num] as number;
    }
    return { nums, scores, count, approximate };
  }

  #nextToken(): number {
    this.#token = (this.#token + 1) >>> 0;
    if (this.#token === 0) {
      // Wrapped (after 4 billion words): clear the stamps once.
      this.#col.wordStamp.fill(0);
      this.#col.queryStamp.fill(0);
      this.#token = 1;
    }
    return this.#token;
  }

  #code(key: string): number {
    let v = this.#codes.get(key);
    if (v === undefined) this.#codes.set(key, (v = this.#codes.size));
    return v;
  }

  #setColumns(num: number, doc: SearchDoc): void {
    const c = this.#col;
    c.alive[num] = 1;
    c.live[num] = doc.kind === "live" ? 1 : 0;
    c.cat[num] = this.#code(`c:${doc.category}`);
    c.lang[num] = this.#code(`l:${doc.language}`);
    c.created[num] = doc.createdAt;
  }

  /** Index words for one query word, each with a quality: 1 exact, 0.8 prefix, 0.6 typo,
   *  0.5 prefix with a typo. */
  #expand(word: string): { found: [string, number][]; capped: boolean } {
    const q = Array.from(word); // whole characters, as the trie holds them
    const max = q.length >= 8 ? 2 : q.length >= 4 ? 1 : 0;
    const found = new Map<string, number>();
    const add = (word: string, quality: number) => {
      if (quality > (found.get(word) ?? 0)) found.set(word, quality);
    };
    // Levenshtein rows down the trie: row[i] = distance between q[0..i] and the path so far.
    const first = Array.from({ length: q.length + 1 }, (_, i) => i);
    // Each entry: node, its row, the row above it and the letter into it (two letters swapped
    // count as one typo: optimal string alignment).
    const stack: [TrieNode, number[], number[] | undefined, string][] = [[this.#trie, first, undefined, ""]];
    const prefixNodes: [TrieNode, number][] = [];
    while (stack.length > 0) {
      const [node, row, above, into] = stack.pop() as [TrieNode, number[], number[] | undefined, string];
      const depth = (row[0] as number);
      const dist = row[q.length] as number;
      if (dist <= max) {
        if (node.word !== undefined) add(node.word, dist === 0 ? 1 : 0.6);
        prefixNodes.push([node, dist]);
        if (dist === 0) continue; // everything below is a plain prefix match
      }
      if (Math.min(...row) > max || depth > q.length + max) continue;
      for (const [ch, child] of node.next) {
        const nextRow = [row[0] as number + 1];
        for (let i = 1; i <= q.length; i++) {
          const cost = q[i - 1] === ch ? 0 : 1;
          let d = Math.min((nextRow[i - 1] as number) + 1, (row[i] as number) + 1, (row[i - 1] as number) + cost);
          if (above !== undefined && i > 1 && q[i - 1] === into && q[i - 2] === ch) d = Math.min(d, (above[i - 2] as number) + 1);
          nextRow.push(d);
        }
        stack.push([child, nextRow, row, ch]);
      }
    }
    // Words below a node whose path matched the query: prefix matches, shortest first (a
    // one-letter word matches itself only: "a" is not a prefix of half the catalog).
    prefixNodes.sort((a, b) => a[1] - b[1]);
    let capped = false;
    for (const [node, dist] of q.length < 2 ? [] : prefixNodes) {
      const queue: TrieNode[] = [node];
      for (let i = 0; i < queue.length; i++) {
        if (found.size >= MAX_EXPANSIONS) {
          capped = true;
          break;
        }
        const cur = queue[i] as TrieNode;
        if (cur.word !== undefined) add(cur.word, dist === 0 ? (cur === node ? 1 : 0.8) : 0.5);
        for (const child of cur.next.values()) queue.push(child);
      }
    }
    return { found: [...found], capped };
  }

  #addWord(word: string): void {
    let node = this.#trie;
    for (const ch of word) {
      let child = node.next.get(ch);
      if (!child) node.next.set(ch, (child = { next: new Map() }));
      node = child;
    }
    node.word = word;
  }

  #drop(num: number): void {
    const doc = this.#docs[num] as SearchDoc;
    this.#numOf.delete(doc.id);
    this.#docs[num] = undefined;
    this.#col.alive[num] = 0;
    for (const word of docWords(doc).keys()) {
      const left = (this.#df.get(word) ?? 1) - 1;
      if (left > 0) this.#df.set(word, left);
      else this.#df.delete(word);
      this.#dead++;
    }
    if (this.#dead * 3 > this.#entries) this.#compact();
  }

  /** Renumbers the live documents 0..n-1 and drops dead postings and unused words. */
  #compact(): void {
    const renumber = new Int32Array(this.#docs.length).fill(-1);
    const docs: SearchDoc[] = [];
    for (let num = 0; num < this.#docs.length; num++) {
      const d = this.#docs[num];
      if (d === undefined) continue;
      renumber[num] = docs.length;
      docs.push(d);
    }
    let entries = 0;
    const postings = new Map<string, number[]>();
    for (const [word, list] of this.#postings) {
      const kept: number[] = [];
      for (const p of list) {
        const to = renumber[Math.floor(p / 16)] as number;
        if (to >= 0) kept.push(to * 16 + (p % 16));
      }
      if (kept.length === 0) this.#removeWord(word);
      else {
        postings.set(word, kept);
        entries += kept.length;
      }
    }
    this.#postings = postings;
    this.#docs = docs;
    this.#numOf.clear();
    this.#col.alive.fill(0);
    docs.forEach((d, num) => {
      this.#numOf.set(d.id, num);
      this.#setColumns(num, d);
    });
    this.#entries = entries;
    this.#dead = 0;
  }

  #removeWord(word: string): void {
    const path: [TrieNode, string][] = [];
    let node: TrieNode | undefined = this.#trie;
    for (const ch of word) {
      const child: TrieNode | undefined = node.next.get(ch);
      if (!child) return;
      path.push([node, ch]);
      node = child;
    }
    delete node.word;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, ch] = path[i] as [TrieNode, string];
      const child = parent.next.get(ch) as TrieNode;
      if (child.word !== undefined || child.next.size > 0) break;
      parent.next.delete(ch);
    }
  }
}

/** A document's distinct words with the fields they occur in. */
function docWords(d: SearchDoc): Map<string, number> {
  const out = new Map<string, number>();
  const put = (text: string, field: number, max?: number) => {
    for (const w of words(text, max)) out.set(w, (out.get(w) ?? 0) | field);
  };
  put(d.title, FIELD.title);
  put(d.ownerName, FIELD.owner);
  put(`${d.category} ${d.language}`, FIELD.tag);
  put(d.description, FIELD.description, DESCRIPTION_WORDS);
  return out;
}

/** The best field's weight in a mask. */
function fieldWeight(mask: number): number {
  for (const [field, w] of WEIGHT) if (mask & field) return w;
  return 1;
}

/** The k best hits seen (a bounded heap with the worst on top). */
class TopK {
  readonly #heap: Hit[] = [];
  constructor(
    readonly k: number,
    readonly before: (a: Hit, b: Hit) => boolean,
  ) {}

  add(num: number, score: number): void {
    const heap = this.#heap;
    if (heap.length < this.k) {
      heap.push([num, score]);
      this.#up(heap.length - 1);
      return;
    }
    const top = heap[0];
    if (top === undefined || score < top[1]) return; // worse than the worst kept: the common case
    const h: Hit = [num, score];
    if (!this.before(h, top)) return;
    heap[0] = h;
    this.#down(0);
  }

  sorted(): Hit[] {
    return [...this.#heap].sort((a, b) => (this.before(a, b) ? -1 : 1));
  }

  /** Worst on top: a parent ranks after its children. */
  #up(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[parent] as Hit, heap[i] as Hit)) break;
      [heap[parent], heap[i]] = [heap[i] as Hit, heap[parent] as Hit];
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && this.before(heap[worst] as Hit, heap[l] as Hit)) worst = l;
      if (r < heap.length && this.before(heap[worst] as Hit, heap[r] as Hit)) worst = r;
      if (worst === i) return;
      [heap[worst], heap[i]] = [heap[i] as Hit, heap[worst] as Hit];
      i = worst;
    }
  }
}
