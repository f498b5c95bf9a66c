/**
 * Notifications pushed over the app's WebSocket (`notify`, protocol/notifications.ts): "X is live",
 * shown as a dismissable card that links to the show, announced to screen readers. The socket is
 * kept open on every screen while a user is logged in, so a notification arrives wherever they are.
 */
import { useEffect, useState } from "preact/hooks";
import type { Notification } from "../../../../protocol/notifications";
import { href } from "../router";
import { session } from "../session";
import { socket } from "../socket";
import { useExternal } from "../external";

const SHOWN = 5;
const GONE_AFTER_MS = 60_000;

export function Notifications() {
  const [items, setItems] = useState<Notification[]>([]);
  const online = useExternal((changed) => socket.onState(changed), () => socket.online);
  const loggedIn = useExternal((changed) => session.on(changed), () => session.loggedIn);
  useEffect(() => {
    if (!loggedIn) return;
    socket.start();
    return socket.onPush((f) => {
      if (f.t !== "notify") return;
      const n = f.d as Notification;
      setItems((list) => [n, ...list.filter((x) => x.streamId !== n.streamId)].slice(0, SHOWN));
      setTimeout(() => setItems((list) => list.filter((x) => x !== n)), GONE_AFTER_MS);
    });
  }, [loggedIn]);
  const dismiss = (n: Notification) => setItems((list) => list.filter((x) => x !== n));
  return (
    // data-connected: whether notifications can arrive now (the socket is open).
    <div class="notifications" role="status" aria-live="polite" data-connected={String(loggedIn && online)}>
      {items.map((n) => (
        <div class="notification" key={`${n.streamId}-${String(n.at)}`}>
          <a href={href(`/watch/${encodeURIComponent(n.streamId)}`)} onClick={() => dismiss(n)}>
            <strong>{n.creatorName}</strong> is live: {n.title}
          </a>
          <button type="button" aria-label={`Dismiss: ${n.creatorName} is live`} onClick={() => dismiss(n)}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
