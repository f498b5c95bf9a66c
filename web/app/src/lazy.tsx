/** A screen or widget loaded on demand (its own chunk: the home page does not pay for players). */
import { errorText } from "./api";
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";

export function lazy<P extends object>(load: () => Promise<{ default: ComponentType<P> }>): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | undefined>(() => loaded);
    const [error, setError] = useState("");
    useEffect(() => {
      if (!C) load().then((m) => ((loaded = m.default), setC(() => m.default)), (e: unknown) => setError(errorText(e)));
    }, []);
    if (error) return <p class="status error" role="alert">Could not load this part: {error}</p>;
    return C ? <C {...props} /> : <p class="status" role="status">Loading…</p>;
  };
}
