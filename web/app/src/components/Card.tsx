import type { StreamCard } from "../api";
import { href as appHref } from "../router";

/** One playable item: a link to its watch page. */
export function Card({ item }: { item: Pick<StreamCard, "id" | "title" | "kind" | "category"> }) {
  const href = appHref(`/watch/${encodeURIComponent(item.id)}`);
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
