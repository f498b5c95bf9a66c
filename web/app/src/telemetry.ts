/**
 * The page's QoE telemetry (docs/events.md): the shared SDK, sending batches over the app's
 * socket (or POST /api/events when it is down), the rest by sendBeacon on exit. Loaded with the
 * players, not on the home page.
 */
import { Telemetry } from "./lib/telemetry";
import { request } from "./api";
import { session } from "./session";
import { socket } from "./socket";

let shared: Telemetry | undefined;
const exits = new Set<() => void>();

/** Runs `fn` as the page goes away (its last events go by sendBeacon); returns the unsubscribe. */
export function onPageExit(fn: () => void): () => void {
  exits.add(fn);
  return () => exits.delete(fn);
}
let lastToken: string | undefined;

export function telemetry(): Telemetry {
  shared ??= new Telemetry({
    send: async (events, retry) => {
      if (socket.online) return socket.request("events", { events, retry });
      lastToken = await session.token();
      return request("POST", "/api/events", { token: lastToken, body: { events, retry } });
    },
    beacon: () => ({ url: "/api/events", token: lastToken }),
    onExit: () => {
      for (const f of exits) f();
    },
  });
  session.token().then(
    (t) => (lastToken = t),
    () => undefined, // offline: the first send fetches one
  );
  return shared;
}
