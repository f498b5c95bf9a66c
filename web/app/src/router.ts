/** Paths under /app/ ("/app/", "/app/search?q=", ...): a tiny history router as a Preact hook. */
import { useEffect, useState } from "preact/hooks";

export const BASE = "/app";

export function navigate(to: string): void {
  history.pushState(null, "", BASE + to);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => ({ path: location.pathname.slice(BASE.length) || "/", query: new URLSearchParams(location.search) });
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return route;
}
