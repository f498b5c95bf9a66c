/**
 * Home: search, categories, live now, and the recommendation rows (GET /api/recommendations:
 * personal rows for users with history, trending and popular-per-category for the rest), each
 * card with a "Not interested" button.
 */
import { errorText } from "../api";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { RecRow, StreamCard } from "../api";
import { Row } from "../components/Row";
import { navigate } from "../router";
import { session } from "../session";

interface Data {
  catalog: StreamCard[];
  rows: RecRow[];
  error?: string;
}

function useHomeData(): [Data | undefined, (id: string) => void] {
  const [data, setData] = useState<Data>();
  useEffect(() => {
    let live = true;
    const load = async () => {
      const [catalog, recs] = await Promise.all([
        session.authed<StreamCard[]>("GET", "/api/streams?limit=200"),
        session.authed<{ rows: RecRow[] }>("GET", "/api/recommendations?limit=20").catch(() => ({ rows: [] })),
      ]);
      if (live) setData({ catalog: catalog.filter((s) => s.status === "live" || s.status === "ready"), rows: recs.rows });
    };
    load().catch((err: unknown) => live && setData({ catalog: [], rows: [], error: errorText(err) }));
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

export function Home({ query, category }: { query: string; category: string }) {
  const [data, hide] = useHomeData();
  const [typed, setTyped] = useState(query);
  const categories = useMemo(() => [...new Set((data?.catalog ?? []).map((s) => s.category ?? "general"))].sort(), [data]);
  if (!data) return <p class="status" role="status">Loading…</p>;
  const q = query.trim().toLowerCase();
  const matches = data.catalog.filter((s) => (!q || s.title.toLowerCase().includes(q)) && (!category || (s.category ?? "general") === category));
  const filtering = q !== "" || category !== "";
  // Recommendation items carry no length: the catalog's, where it has one.
  const lengths = new Map(data.catalog.flatMap((s) => (s.durationSec ? [[s.id, s.durationSec] as const] : [])));
  const lengthOf = (id: string) => (lengths.has(id) ? { durationSec: lengths.get(id) } : {});
  const go = (nq: string, nc: string) => navigate(`/${nq || nc ? `?${new URLSearchParams({ ...(nq ? { q: nq } : {}), ...(nc ? { category: nc } : {}) }).toString()}` : ""}`);
  return (
    <div class="home">
      <h1 class="visually-hidden">Home</h1>
      <form class="search" role="search" onSubmit={(e) => (e.preventDefault(), go(typed, category))}>
        <label for="q" class="visually-hidden">Search videos and live streams</label>
        <input id="q" type="search" placeholder="Search" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <nav class="chips" aria-label="Categories">
        <button type="button" class="chip" aria-pressed={category === ""} onClick={() => go(query, "")}>All</button>
        {categories.map((c) => (
          <button type="button" class="chip" key={c} aria-pressed={category === c} onClick={() => go(query, c)}>
            {c}
          </button>
        ))}
      </nav>
      {data.error ? <p class="status error" role="alert">{data.error}</p> : null}
      {filtering ? (
        matches.length ? <Row title={`Results${q ? ` for “${query}”` : ""}${category ? ` in ${category}` : ""}`} items={matches} /> : <p class="status">Nothing matches.</p>
      ) : (
        <>
          <Row title="Live now" items={data.catalog.filter((s) => s.status === "live")} />
          {data.rows.map((r) => (
            <Row key={r.title} title={r.title} items={r.items.map((i) => ({ ...i, ...lengthOf(i.id) }))} onHide={(i) => hide(i.id)} />
          ))}
        </>
      )}
    </div>
  );
}
