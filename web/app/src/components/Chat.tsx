/**
 * The chat panel: messages (with delete/mute/ban for moderators), the outbox of messages not yet
 * acknowledged, and a composer whose draft is kept in sessionStorage per room, as the outbox is
 * (room.ts): an expired session, a reconnect or even a reload never loses what the user typed.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { RoomModel } from "../room";
import { ROOM_FIELDS } from "../../../../protocol/rooms";

const draftKey = (room: string) => `esh.draft.${room}`;

function Moderation({ room, seq, userId, onError }: { room: RoomModel; seq: number; userId: string; onError: (m: string) => void }) {
  const act = (t: string, d: Record<string, unknown>) => void room.act(t, d).then(onError);
  return (
    <span class="mod">
      <button type="button" aria-label="Delete message" onClick={() => act("room.delete", { seq })}>delete</button>
      <button type="button" aria-label="Mute for 5 minutes" onClick={() => act("room.mute", { userId, seconds: 300 })}>mute</button>
      <button type="button" aria-label="Ban from this room" onClick={() => act("room.ban", { userId })}>ban</button>
    </span>
  );
}

function Composer({ room, onSend }: { room: RoomModel; onSend: () => void }) {
  const [draft, setDraft] = useState(() => sessionStorage.getItem(draftKey(room.id)) ?? "");
  const keep = (v: string) => {
    setDraft(v);
    if (v) sessionStorage.setItem(draftKey(room.id), v);
    else sessionStorage.removeItem(draftKey(room.id));
  };
  const [refused, setRefused] = useState("");
  // A message the server refused for good comes back into the composer, with the reason.
  useEffect(() => {
    const f = room.takeRefused();
    if (!f) return;
    keep(f.text + (draft ? ` ${draft}` : ""));
    setRefused(f.error ?? "");
  });
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        const text = draft.trim();
        if (!text) return;
        room.chat(text);
        onSend();
        keep("");
        setRefused("");
      }}
    >
      <label for="chat-input" class="visually-hidden">Chat message</label>
      <input id="chat-input" maxLength={ROOM_FIELDS.text.max} autocomplete="off" placeholder={room.kicked ? "You cannot chat here" : "Say something"} disabled={room.kicked} value={draft} onInput={(e) => keep(e.currentTarget.value)} />
      <button type="submit" disabled={room.kicked}>Send</button>
      {refused ? <span role="alert" class="status error">{refused}</span> : null}
    </form>
  );
}

export function Chat({ room, moderator, me, onSend = () => undefined }: { room: RoomModel; moderator: boolean; me: string | undefined; onSend?: () => void }) {
  const [error, setError] = useState("");
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => list.current?.lastElementChild?.scrollIntoView({ block: "nearest" }), [room.messages.length]);
  return (
    <section class="chat" aria-label="Chat">
      <ol class="messages" ref={list} aria-live="polite">
        {room.messages.map((m) => (
          <li key={m.seq} data-seq={m.seq} class={m.deleted ? "deleted" : ""}>
            <span class="who">{m.user.name}</span> <span class="text">{m.text}</span>
            {moderator && !m.deleted && m.user.id !== me ? <Moderation room={room} seq={m.seq} userId={m.user.id} onError={setError} /> : null}
          </li>
        ))}
        {room.outbox.map((m) => (
          <li key={m.cid} class="pending" aria-label="Sending">
            <span class="text">{m.text}</span> <span class="status">sending…</span>
          </li>
        ))}
      </ol>
      {error ? <p role="alert" class="status error">{error}</p> : null}
      <Composer room={room} onSend={onSend} />
    </section>
  );
}
