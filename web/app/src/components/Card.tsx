import type { StreamCard } from "../api";
import { href as appHref } from "../router";

type CardItem = Pick<StreamCard, "id" | "title" | "kind" | "category">;

/** One playable item: a link to its watch page; with `onHide`, a "Not interested" button beside it
 *  (a sibling, not inside the link; skipped by the TV's arrow keys, which move between cards). */
export function Card({ item, onHide }: { item: CardItem; onHide?: (item: CardItem) => void }) {
  const href = appHref(`/watch/${encodeURIComponent(item.id)}`);
  const link = (
    <a class="card" href={href} aria-label={`${item.kind === "live" ? "Live: " : "Watch: "}${item.title}`}>
      <span class="thumb" aria-hidden="true">
        {item.kind === "live" ? <span class="badge">LIVE</span> : null}
      </span>
      <span class="card-title">{item.title}</span>
      <span class="card-meta">{item.category ?? "general"}</span>
    </a>
  );
  if (!onHide) return link;
  return (
    <div class="card-wrap">
      {link}
      <button type="button" class="card-hide" data-tv-skip aria-label={`Not interested in ${item.title}`} title="Not interested" onClick={() => onHide(item)}>
        ✕
      </button>
    </div>
  );
}
