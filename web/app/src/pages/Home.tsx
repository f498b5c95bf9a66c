/**
 * Home: search (GET /api/search: ranked, typo-tolerant, paged, on the server), category chips
 * (the catalog's categories with their counts), live now, and the recommendation rows
 * (GET /api/recommendations: personal rows for users with history, trending and popular per
 * category for the rest), each card with a "Not interested" button.
 */
import { errorText } from "../api";
import { useEffect, useState } from "preact/hooks";
import type { RecRow, StreamCard } from "../api";
import type { SearchAnswer } from "../../../../protocol/search";
import { Row } from "../components/Row";
import { navigate } from "../router";
import { session } from "../session";

type Found = SearchAnswer<StreamCard>;
const PAGE = 24;

interface Data {
  live: StreamCard[];
  categories: Record<string, number>;
  rows: RecRow[];
  error?: string;
}

const searchUrl = (p: Record<string, string | number | undefined>) => `/api/search?${new URLSearchParams(Object.entries(p).flatMap(([k, v]) => (v === undefined || v === "" ? [] : [[k, String(v)]]))).toString()}`;

function useHomeData(): [Data | undefined, (id: string) => void] {
  const [data, setData] = useState<Data>();
  useEffect(() => {
    let live = true;
    const load = async () => {
      const [now, all, recs] = await Promise.all([
        session.authed<Found>("GET", searchUrl({ kind: "live", limit: 20 })),
        session.authed<Found>("GET", searchUrl({ limit: 1 })),
        session.authed<{ rows: RecRow[] }>("GET", "/api/recommendations?limit=20").catch(() => ({ rows: [] })),
      ]);
      if (live) setData({ live: now.items, categories: all.facets.category, rows: recs.rows });
    };
    load().catch((err: unknown) => live && setData({ live: [], categories: {}, rows: [], error: errorText(err) }));
    return () => {
      live = false;
    };
  }, [session.user?.id]);
  // "Not interested": a `hide` event (the recommenders never show the item to this user again);
  // the card leaves every row at once, and comes back only if the event could not be sent.
  const hide = (id: string) => {
    const where = new Map((data?.rows ?? []).map((r) => [r.title, { at: r.items.findIndex((i) => i.id === id), item: r.items.find((i) => i.id === id) }]));
    setData((d) => d && { ...d, rows: d.rows.map((r) => ({ ...r, items: r.items.filter((i) => i.id !== id) })) });
    const event = { id: `hide-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`, type: "hide", ts: Date.now(), stream: id };
    session.authed("POST", "/api/events", { events: [event] }).catch((err: unknown) =>
      // Not sent: only this card comes back, where it was (other hides stand).
      setData((d) => d && {
        ...d,
        error: `Could not hide it: ${errorText(err)}`,
        rows: d.rows.map((r) => {
          const w = where.get(r.title);
          if (!w?.item || w.at < 0 || r.items.some((i) => i.id === id)) return r;
          return { ...r, items: [...r.items.slice(0, w.at), w.item, ...r.items.slice(w.at)] };
        }),
      }),
    );
  };
  return [data, hide];
}

/** Search results for the words and category in the address, a page at a time ("More"). */
function Results({ query, category }: { query: string; category: string }) {
  const [found, setFound] = useState<Found>();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const fetchPage = (offset: number) => session.authed<Found>("GET", searchUrl({ q: query.trim(), category, offset, limit: PAGE }));
  useEffect(() => {
    let live = true;
    setFound(undefined);
    setError("");
    fetchPage(0).then((f) => live && setFound(f), (err: unknown) => live && setError(errorText(err)));
    return () => {
      live = false;
    };
  }, [query, category]);
  const more = () => {
    if (!found) return;
    setBusy(true);
    fetchPage(found.items.length)
      .then((f) => setFound({ ...f, items: [...found.items, ...f.items] }), (err: unknown) => setError(errorText(err)))
      .finally(() => setBusy(false));
  };
  if (error) return <p class="status error" role="alert">{error}</p>;
  if (!found) return <p class="status" role="status">Searching…</p>;
  if (found.total === 0) return <p class="status" role="status">Nothing matches.</p>;
  const title = `${String(found.total)} result${found.total === 1 ? "" : "s"}${query ? ` for “${query}”` : ""}${category ? ` in ${category}` : ""}`;
  return (
    <>
      <Row title={title} items={found.items} wrap />
      {found.items.length < found.total && found.items.length < 1000 ? (
        <button type="button" class="more" disabled={busy} onClick={more}>
          {busy ? "Loading…" : "More results"}
        </button>
      ) : null}
    </>
  );
}

export function Home({ query, category }: { query: string; category: string }) {
  const [data, hide] = useHomeData();
  const [typed, setTyped] = useState(query);
  useEffect(() => setTyped(query), [query]);
  if (!data) return <p class="status" role="status">Loading…</p>;
  const filtering = query.trim() !== "" || category !== "";
  const go = (nq: string, nc: string) => navigate(`/${nq || nc ? `?${new URLSearchParams({ ...(nq ? { q: nq } : {}), ...(nc ? { category: nc } : {}) }).toString()}` : ""}`);
  return (
    <div class="home">
      <h1 class="visually-hidden">Home</h1>
      <form class="search" role="search" onSubmit={(e) => (e.preventDefault(), go(typed.trim(), category))}>
        <label for="q" class="visually-hidden">Search videos and live streams</label>
        <input id="q" type="search" placeholder="Search" maxLength={200} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <nav class="chips" aria-label="Categories">
        <button type="button" class="chip" aria-pressed={category === ""} onClick={() => go(query, "")}>All</button>
        {Object.keys(data.categories).sort().map((c) => (
          <button type="button" class="chip" key={c} aria-pressed={category === c} onClick={() => go(query, c)}>
            {c}
          </button>
        ))}
      </nav>
      {data.error ? <p class="status error" role="alert">{data.error}</p> : null}
      {filtering ? (
        <Results query={query.trim()} category={category} />
      ) : (
        <>
          <Row title="Live now" items={data.live} />
          {data.rows.map((r) => (
            <Row key={r.title} title={r.title} why={r.why} items={r.items} onHide={(i) => hide(i.id)} />
          ))}
        </>
      )}
    </div>
  );
}
