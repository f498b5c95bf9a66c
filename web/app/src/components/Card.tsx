import { useEffect, useRef, useState } from "preact/hooks";
import type { StreamCard } from "../api";
import { href as appHref } from "../router";
import { LIVE_CARD, LIVE_CARD_EVERY_SEC, SPRITE } from "../../../../protocol/media";

type CardItem = Pick<StreamCard, "id" | "title" | "kind" | "category" | "durationSec" | "ownerName" | "viewers"> & { resumeSec?: number };

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function clock(sec: number): string {
  const s = Math.round(sec);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${String(h)}:${two(m)}:${two(r)}` : `${String(m)}:${two(r)}`;
}

const TILES = SPRITE.columns * SPRITE.rows;
/** The sprite's tile `i` as a background position (tiles in rows, left to right). */
const tilePosition = (i: number) => `${String(((i % SPRITE.columns) / (SPRITE.columns - 1)) * 100)}% ${String((Math.floor(i / SPRITE.columns) / (SPRITE.rows - 1)) * 100)}%`;

/** A live card's image: the show's frame of the last ~30 s, asked for again every 30 s while shown. */
function useLiveFrame(id: string, live: boolean): string | undefined {
  const [round, setRound] = useState(() => Math.floor(Date.now() / (LIVE_CARD_EVERY_SEC * 1000)));
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => setRound(Math.floor(Date.now() / (LIVE_CARD_EVERY_SEC * 1000))), LIVE_CARD_EVERY_SEC * 1000);
    return () => clearInterval(t);
  }, [live]);
  return live ? `/live/${encodeURIComponent(id)}/${LIVE_CARD}?r=${String(round)}` : undefined;
}

/** Scrubbing a video's sprite: the tile under the pointer while hovered; with keyboard or remote
 *  focus, the tiles in turn. */
function useScrub(enabled: boolean): { tile: number | undefined; handlers: Record<string, (e: Event) => void> } {
  const [tile, setTile] = useState<number>();
  const cycling = useRef<ReturnType<typeof setInterval>>();
  const stopCycle = () => clearInterval(cycling.current);
  useEffect(() => stopCycle, []);
  if (!enabled) return { tile: undefined, handlers: {} };
  return {
    tile,
    handlers: {
      onPointerMove: (e) => {
        const el = e.currentTarget as HTMLElement;
        const r = el.getBoundingClientRect();
        const x = ((e as PointerEvent).clientX - r.left) / Math.max(1, r.width);
        setTile(Math.min(TILES - 1, Math.max(0, Math.floor(x * TILES))));
      },
      onPointerLeave: () => setTile(undefined),
      onFocus: () => {
        stopCycle();
        let i = 0;
        setTile(0);
        cycling.current = setInterval(() => setTile((i = (i + 1) % TILES)), 600);
      },
      onBlur: () => (stopCycle(), setTile(undefined)),
    },
  };
}

/** One playable item: a link to its watch page; with `onHide`, a "Not interested" button beside it
 *  (a sibling, not inside the link; skipped by the TV's arrow keys, which move between cards). */
export function Card({ item, onHide }: { item: CardItem; onHide?: (item: CardItem) => void }) {
  const href = appHref(`/watch/${encodeURIComponent(item.id)}`);
  const vod = item.kind === "vod";
  const [broken, setBroken] = useState(false);
  const liveFrame = useLiveFrame(item.id, !vod);
  const { tile, handlers } = useScrub(vod && !broken);
  const src = vod ? `/vod/${encodeURIComponent(item.id)}/card.jpg` : liveFrame;
  const label = `${!vod ? "Live: " : item.resumeSec ? `Resume at ${clock(item.resumeSec)}: ` : "Watch: "}${item.title}${item.ownerName ? `, by ${item.ownerName}` : ""}${!vod && item.viewers !== undefined ? `, ${String(item.viewers)} watching` : ""}`;
  const link = (
    <a class="card" href={href} aria-label={label} {...handlers}>
      <span class="thumb" aria-hidden="true">
        {src && !broken ? (
          // Card-sized images (a few KB): a video's is cached for good, a live show's renewed every
          // 30 s. None for a private video (the request has no token) or one encoded before card
          // images: the grey box stays.
          <img src={src} alt="" loading="lazy" width={320} height={180} onError={() => setBroken(true)} />
        ) : null}
        {tile !== undefined ? <span class="scrub" style={{ backgroundImage: `url(/vod/${encodeURIComponent(item.id)}/sprite.jpg)`, backgroundSize: `${String(SPRITE.columns * 100)}% ${String(SPRITE.rows * 100)}%`, backgroundPosition: tilePosition(tile) }} /> : null}
        {!vod ? <span class="badge">LIVE</span> : null}
        {!vod && item.viewers !== undefined ? <span class="viewers">{`${item.viewers.toLocaleString()} watching`}</span> : null}
        {vod && item.durationSec ? <span class="duration">{tile !== undefined ? clock(((tile + 0.5) / TILES) * item.durationSec) : clock(item.durationSec)}</span> : null}
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
