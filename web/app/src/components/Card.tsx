import type { StreamCard } from "../api";

/** One playable item: a link to its watch page (live: the room; VOD: the player). */
export function Card({ item }: { item: Pick<StreamCard, "id" | "title" | "kind" | "category"> }) {
  const href = item.kind === "live" ? `/room.html?room=${encodeURIComponent(item.id)}` : `/watch.html?v=${encodeURIComponent(item.id)}`;
  return (
    <a class="card" href={href} aria-label={`${item.kind === "live" ? "Live: " : "Watch: "}${item.title}`}>
      <span class="thumb" aria-hidden="true">
        {item.kind === "live" ? <span class="badge">LIVE</span> : null}
      </span>
      <span class="card-title">{item.title}</span>
      <span class="card-meta">{item.category ?? "general"}</span>
    </a>
  );
}
