import type { StreamCard } from "../api";
import { href as appHref } from "../router";

type CardItem = Pick<StreamCard, "id" | "title" | "kind" | "category" | "durationSec" | "ownerName"> & { resumeSec?: number };

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function clock(sec: number): string {
  const s = Math.round(sec);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${String(h)}:${two(m)}:${two(r)}` : `${String(m)}:${two(r)}`;
}

/** One playable item: a link to its watch page; with `onHide`, a "Not interested" button beside it
 *  (a sibling, not inside the link; skipped by the TV's arrow keys, which move between cards). */
export function Card({ item, onHide }: { item: CardItem; onHide?: (item: CardItem) => void }) {
  const href = appHref(`/watch/${encodeURIComponent(item.id)}`);
  const link = (
    <a class="card" href={href} aria-label={`${item.kind === "live" ? "Live: " : item.resumeSec ? `Resume at ${clock(item.resumeSec)}: ` : "Watch: "}${item.title}`}>
      <span class="thumb" aria-hidden="true">
        {item.kind === "vod" ? (
          // The card-sized image the encoder made (a few KB, cached for good); none for a private
          // video (the request has no token) or one encoded before card images: the grey box stays.
          <img src={`/vod/${encodeURIComponent(item.id)}/card.jpg`} alt="" loading="lazy" width={320} height={180} onError={(e) => (e.currentTarget.style.display = "none")} />
        ) : null}
        {item.kind === "live" ? <span class="badge">LIVE</span> : null}
        {item.kind === "vod" && item.durationSec ? <span class="duration">{clock(item.durationSec)}</span> : null}
        {item.resumeSec && item.durationSec ? <span class="progress" style={{ width: `${String(Math.min(100, (100 * item.resumeSec) / item.durationSec))}%` }} /> : null}
      </span>
      <span class="card-title">{item.title}</span>
      <span class="card-meta">{item.ownerName ? `${item.ownerName} · ` : ""}{item.category ?? "general"}</span>
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
