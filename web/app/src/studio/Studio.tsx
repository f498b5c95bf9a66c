/**
 * The creator studio: my follower count, my streams (create, rename, delete, open, captions of a
 * video), going live with the room beside it (audience, polls, chat with moderation), and uploads
 * with progress. Creators and admins.
 */
import { ConfirmDialog, PromptDialog } from "../components/Dialog";
import { errorText } from "../api";
import { useEffect, useState } from "preact/hooks";
import { Chat } from "../components/Chat";
import { NewPoll, Polls, PresenceLine } from "../components/Interact";
import { field } from "../form";
import type { Stream } from "../pages/Watch";
import { href } from "../router";
import { session } from "../session";
import { useRoom } from "../useRoom";
import { GoLive } from "./GoLive";
import { Upload } from "./Upload";
import { CaptionsEditor, FollowerCount } from "./Captions";

function NewStream({ onCreated }: { onCreated: (s: Stream) => void }) {
  const [error, setError] = useState("");
  return (
    <form
      class="stack"
      aria-label="New live stream"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const f = new FormData(form);
        const category = field(f, "category").trim();
        session.authed<Stream>("POST", "/api/streams", { title: field(f, "title").trim(), kind: "live", visibility: field(f, "visibility") || "public", ...(category ? { category } : {}) }).then((s) => (form.reset(), setError(""), onCreated(s)), (err: unknown) => setError(errorText(err)));
      }}
    >
      <input name="title" aria-label="Stream title" placeholder="Title of the new live stream" required maxLength={200} />
      <input name="category" aria-label="Category" placeholder="category (e.g. music)" pattern="[a-z0-9-]+" maxLength={32} />
      <VisibilitySelect name="visibility" value="public" label="Visibility of the new stream" />
      <button type="submit">Create</button>
      {error ? <span role="alert" class="status error">{error}</span> : null}
    </form>
  );
}

function VisibilitySelect({ name, value, label, onChange }: { name?: string; value: string; label: string; onChange?: (v: string) => void }) {
  return (
    <select name={name} aria-label={label} value={value} onChange={(e) => onChange?.(e.currentTarget.value)}>
      <option value="public">public (listed)</option>
      <option value="unlisted">unlisted (link only)</option>
      <option value="private">private (people you choose)</option>
    </select>
  );
}

/** Who may watch: the visibility, and for a private stream the usernames granted. */
function Access({ s, onChanged, onError }: { s: Stream; onChanged: () => void; onError: (e: string) => void }) {
  const save = (body: Record<string, unknown>) => session.authed("PATCH", `/api/streams/${s.id}`, body).then(onChanged, (e: unknown) => onError(errorText(e)));
  const visibility = s.visibility ?? "public";
  return (
    <span class="access">
      <VisibilitySelect value={visibility} label={`Visibility of ${s.title}`} onChange={(v) => void save({ visibility: v })} />
      {visibility === "private" ? (
        <form
          aria-label={`Who may watch ${s.title}`}
          onSubmit={(e) => {
            e.preventDefault();
            const grants = field(new FormData(e.currentTarget), "grants").split(/[\s,]+/).filter(Boolean);
            void save({ grants });
          }}
        >
          <input name="grants" aria-label={`Usernames who may watch ${s.title}`} placeholder="usernames, comma separated" defaultValue={(s.grantNames ?? []).join(", ")} />
          <button type="submit">Save viewers</button>
        </form>
      ) : null}
    </span>
  );
}

function StreamRow({ s, selected, onOpen, onChanged }: { s: Stream; selected: boolean; onOpen: () => void; onChanged: () => void }) {
  const [error, setError] = useState("");
  const [asking, setAsking] = useState<"rename" | "delete">();
  const rename = (title: string) => {
    setAsking(undefined);
    session.authed("PATCH", `/api/streams/${s.id}`, { title }).then(onChanged, (e: unknown) => setError(errorText(e)));
  };
  const remove = () => {
    setAsking(undefined);
    session.authed("DELETE", `/api/streams/${s.id}`).then(onChanged, (e: unknown) => setError(errorText(e)));
  };
  return (
    <li class={selected ? "selected" : ""}>
      <a href={href(`/watch/${s.id}`)}>{s.title}</a> <span class={`pill ${s.status}`}>{s.kind} · {s.status}</span>
      <span class="actions">
        {s.kind === "live" && s.status !== "ended" ? <button type="button" onClick={onOpen} aria-pressed={selected}>Open studio</button> : null}
        <button type="button" onClick={() => setAsking("rename")} aria-label={`Rename ${s.title}`}>Rename</button>
        <button type="button" class="danger" onClick={() => setAsking("delete")} aria-label={`Delete ${s.title}`}>Delete</button>
      </span>
      {asking === "rename" ? <PromptDialog title={`Rename “${s.title}”`} label="New title" initial={s.title} submitLabel="Rename" onSubmit={rename} onCancel={() => setAsking(undefined)} /> : null}
      {asking === "delete" ? <ConfirmDialog title={`Delete “${s.title}”?`} message="Its video, recordings and chat are deleted for good." confirmLabel="Delete" danger onConfirm={remove} onCancel={() => setAsking(undefined)} /> : null}
      <Access s={s} onChanged={onChanged} onError={setError} />
      {s.kind === "vod" && s.status === "ready" ? <CaptionsEditor s={s} onChanged={onChanged} /> : null}
      {error ? <span role="alert" class="status error">{error}</span> : null}
    </li>
  );
}

function LiveRoom({ streamId }: { streamId: string }) {
  const room = useRoom(streamId);
  if (!room) return null;
  return (
    <section class="panel" aria-label="Your room">
      <PresenceLine room={room} />
      <NewPoll room={room} />
      <Polls room={room} moderator onVote={() => undefined} />
      <Chat room={room} moderator me={session.user?.id} />
    </section>
  );
}

export default function Studio() {
  const [streams, setStreams] = useState<Stream[]>();
  const [open, setOpen] = useState<string>();
  const [error, setError] = useState("");
  const me = session.user;
  const load = () => {
    if (me) session.authed<Stream[]>("GET", `/api/streams?ownerId=${encodeURIComponent(me.id)}&limit=200`).then(setStreams, (e: unknown) => setError(errorText(e)));
  };
  useEffect(load, [me?.id]);
  if (!session.loggedIn || (me?.role !== "creator" && me?.role !== "admin")) return <p class="status">The studio is for creators: log in with a creator account.</p>;
  return (
    <div class="studio">
      <h1>Studio</h1>
      <FollowerCount creatorId={me.id} />
      {error ? <p role="alert" class="status error">{error}</p> : null}
      <div class="studio-grid">
        <section class="panel" aria-label="Your streams">
          <h2>Your streams</h2>
          <NewStream onCreated={(s) => (load(), setOpen(s.id))} />
          <ul class="stream-list">
            {(streams ?? []).map((s) => (
              <StreamRow key={s.id} s={s} selected={open === s.id} onOpen={() => setOpen(s.id)} onChanged={load} />
            ))}
          </ul>
        </section>
        <Upload onDone={load} />
      </div>
      {open ? (
        <div class="studio-grid" key={open}>
          <GoLive streamId={open} onEnded={load} />
          <LiveRoom streamId={open} />
        </div>
      ) : null}
    </div>
  );
}
