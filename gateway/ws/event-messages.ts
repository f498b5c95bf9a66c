/** WebSocket message for telemetry (docs/events.md): `events {events: [...], device?}`. */
import { def } from "./message-def.js";

export const EVENT_MESSAGES = {
  events: def<{ events: unknown[]; device?: string }>(
    { events: { type: "array", max: 500 }, device: { type: "string", max: 16, optional: true } },
    (d, conn, env) => env.events.accept(d.events, conn.principal, conn.userAgent, d.device),
  ),
};
