/**
 * `useExternal`: a value kept outside Preact (the session, the socket's state) read during
 * render and re-read on each change. A change that lands between the render and the effect that
 * subscribes (a fast answer on page load) would otherwise be missed for good, and the screen
 * would show a login or a socket that is no longer so: the effect reads once more on subscribing.
 */
import { useEffect, useRef, useState } from "preact/hooks";

export function useExternal<T>(subscribe: (changed: () => void) => () => void, read: () => T): T {
  const [, redraw] = useState(0);
  const value = read();
  const rendered = useRef(value);
  rendered.current = value;
  useEffect(() => {
    const off = subscribe(() => redraw((n) => n + 1));
    if (!Object.is(read(), rendered.current)) redraw((n) => n + 1);
    return off;
  }, []); // subscribed once: `subscribe` and `read` name the same source on every render
  return value;
}
