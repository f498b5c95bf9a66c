/** WebSocket message for telemetry (docs/events.md): `events {events: [...], device?, retry?}`;
 *  `retry: true` when re-sending a batch whose answer was lost (it is checked for duplicates). */
import { def } from "./message-def.js";

export const EVENT_MESSAGES = {
  events: def<{ events: unknown[]; device?: string; retry?: boolean }>(
    { events: { type: "array", max: 500 }, device: { type: "string", max: 16, optional: true }, retry: { type: "boolean", optional: true } },
    (d, conn, env) => env.events.accept(d.events, conn.principal, conn.userAgent, d.device, d.retry === true),
  ),
};
