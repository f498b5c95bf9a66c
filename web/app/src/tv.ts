/**
 * The 10-foot UI: with `?tv=1` (or a remembered choice) the app is driven by arrow keys and
 * Enter alone. Arrow keys move focus to the nearest focusable element in that direction
 * (spatial navigation); Enter activates it (native for links and buttons). On a focused video,
 * left and right seek (the player's keys); up and down leave it.
 */
// [data-tv-skip]: controls beside a card (its "Not interested" button) that arrows pass over.
const FOCUSABLE = "a[href]:not([data-tv-skip]), button:not([disabled]):not([data-tv-skip]), input, select, video[controls], [tabindex='0']";

export function tvMode(): boolean {
  const q = new URLSearchParams(location.search).get("tv");
  if (q !== null) localStorage.setItem("esh.tv", q === "1" ? "1" : "0");
  return localStorage.getItem("esh.tv") === "1";
}

type Dir = "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight";

function centre(r: DOMRect): { x: number; y: number } {
  return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
}

/**
 * The best candidate in direction `dir` from `from`: ahead of it, nearest, least off-axis.
 * Left and right stay in the source's band (a row): at a row's end, nothing moves. Outside the
 * home rows, when the band has nothing that way, they go to the nearest element that way.
 */
export function nextInDirection(from: Element, dir: Dir, all: Element[], inBand = true): Element | undefined {
  const fr = from.getBoundingClientRect();
  const a = centre(fr);
  const sideways = dir === "ArrowLeft" || dir === "ArrowRight";
  let best: { el: Element; score: number } | undefined;
  for (const el of all) {
    if (el === from) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const b = centre(r);
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const ahead = dir === "ArrowRight" ? dx > 1 : dir === "ArrowLeft" ? dx < -1 : dir === "ArrowDown" ? dy > 1 : dy < -1;
    if (!ahead) continue;
    if (sideways && inBand && (r.bottom <= fr.top || r.top >= fr.bottom)) continue;
    const along = dir === "ArrowLeft" || dir === "ArrowRight" ? Math.abs(dx) : Math.abs(dy);
    const across = dir === "ArrowLeft" || dir === "ArrowRight" ? Math.abs(dy) : Math.abs(dx);
    const score = along + across * 3;
    if (!best || score < best.score) best = { el, score };
  }
  return best?.el;
}

export function enableSpatialNavigation(root: HTMLElement): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (!["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(e.key)) return;
    const active = document.activeElement;
    const sideways = e.key === "ArrowLeft" || e.key === "ArrowRight";
    if (active instanceof HTMLInputElement && sideways && active.value !== "") return; // caret keys in a filled field
    if (active instanceof HTMLVideoElement && sideways) return; // seeking
    // An open modal dialog is the whole screen: arrows move only within it (the page behind is inert).
    const scope = document.querySelector("dialog[open]") ?? root;
    const all = [...scope.querySelectorAll(FOCUSABLE)];
    const from = active && active !== root && scope.contains(active) ? active : undefined;
    const inRow = from?.closest(".row-items") != null;
    const next = from ? (nextInDirection(from, e.key as Dir, all) ?? (sideways && !inRow ? nextInDirection(from, e.key, all, false) : undefined)) : all[0];
    if (!next && active instanceof HTMLSelectElement && !sideways) e.preventDefault(); // up/down never change a closed select's value
    if (next instanceof HTMLElement) {
      e.preventDefault();
      e.stopPropagation(); // captured first: the player's own arrow keys (volume) do not fire too
      next.focus();
      next.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  };
  addEventListener("keydown", onKey, true);
  return () => removeEventListener("keydown", onKey, true);
}
