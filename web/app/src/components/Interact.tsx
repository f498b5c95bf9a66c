/** Reactions, polls (vote; the moderator closes) and presence for one room. */
import { useState } from "preact/hooks";
import { field } from "../form";
import type { Poll, RoomModel } from "../room";
import { session } from "../session";
import { REACTIONS, ROOM_FIELDS } from "../../../../protocol/rooms";


export function Reactions({ room, onReact }: { room: RoomModel; onReact: () => void }) {
  return (
    <section class="reactions" aria-label="Reactions">
      <div class="reaction-buttons">
        {REACTIONS.map((e) => (
          <button type="button" key={e} aria-label={`React ${e}`} onClick={() => room.react(e) && onReact()}>
            {e}
          </button>
        ))}
      </div>
      <p class="reaction-counts" aria-label="Reaction totals">
        {Object.entries(room.reactions).map(([e, n]) => (
          <span key={e}>
            {e} {n}
          </span>
        ))}
      </p>
    </section>
  );
}

function PollCard({ room, poll, moderator, guest, onVote }: { room: RoomModel; poll: Poll; moderator: boolean; guest: boolean; onVote: () => void }) {
  const [error, setError] = useState("");
  const total = poll.counts.reduce((a, b) => a + b, 0);
  return (
    <div class="poll" data-poll={poll.id}>
      <strong>
        {poll.question}
        {poll.open ? "" : " (closed)"}
      </strong>
      {poll.options.map((o, i) => (
        <button type="button" key={o} disabled={!poll.open || guest} aria-label={`Vote ${o}: ${String(poll.counts[i] ?? 0)} votes`} onClick={() => (onVote(), void room.act("room.vote", { pollId: poll.id, option: i }).then(setError))}>
          <span>{o}</span>
          <span class="votes">{poll.counts[i] ?? 0}</span>
          <span class="bar" style={{ width: `${String(total ? Math.round((100 * (poll.counts[i] ?? 0)) / total) : 0)}%` }} />
        </button>
      ))}
      {guest && poll.open ? <span class="status">Log in to vote (guests can mint identities at will).</span> : null}
      {moderator && poll.open ? (
        <button type="button" class="secondary" onClick={() => void room.act("room.poll.close", { pollId: poll.id }).then(setError)}>
          Close poll
        </button>
      ) : null}
      {error ? <span role="alert" class="status error">{error}</span> : null}
    </div>
  );
}

export function Polls({ room, moderator, onVote }: { room: RoomModel; moderator: boolean; onVote: () => void }) {
  const polls = [...room.polls.values()].reverse();
  if (!polls.length) return null;
  return (
    <section class="polls" aria-label="Polls">
      {polls.map((p) => (
        <PollCard key={p.id} room={room} poll={p} moderator={moderator} guest={session.user?.guest === true} onVote={onVote} />
      ))}
    </section>
  );
}

/** The creator's poll form (studio and the watch page for moderators). */
export function NewPoll({ room }: { room: RoomModel }) {
  const [error, setError] = useState("");
  return (
    <form
      class="new-poll"
      aria-label="New poll"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const f = new FormData(form);
        const options = field(f, "options").split(",").map((s) => s.trim()).filter(Boolean);
        void room.act("room.poll.create", { question: field(f, "question"), options }).then((err) => (setError(err), err || form.reset()));
      }}
    >
      <input name="question" aria-label="Poll question" placeholder="Question" required maxLength={ROOM_FIELDS.question.max} />
      <input name="options" aria-label="Poll options, comma separated" placeholder="Options, comma separated" required />
      <button type="submit">Open poll</button>
      {error ? <span role="alert" class="status error">{error}</span> : null}
    </form>
  );
}

export function PresenceLine({ room }: { room: RoomModel }) {
  return (
    <p class="presence" aria-live="polite">
      <strong class="viewers">{room.presence.count} watching</strong>
      {room.presence.sample.length ? <span class="status"> · {room.presence.sample.map((u) => u.name).join(", ")}</span> : null}
    </p>
  );
}
