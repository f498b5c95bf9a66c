/** Paths under /app/ ("/app/", "/app/watch/<id>", ...): a tiny history router as a Preact hook. */
import { useEffect, useState } from "preact/hooks";

export const BASE = "/app";

export const href = (to: string): string => BASE + to;

export function navigate(to: string): void {
  history.pushState(null, "", BASE + to);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** Same-app links navigate without a reload (the socket, the session and drafts stay). */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener("click", (e) => {
    const a = (e.target as Element | null)?.closest("a");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE + "/")) return;
    e.preventDefault();
    navigate(url.pathname.slice(BASE.length) + url.search);
  });
}

export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => ({ path: location.pathname.slice(BASE.length) || "/", query: new URLSearchParams(location.search) });
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => (setRoute(read()), scrollTo(0, 0));
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return route;
}
