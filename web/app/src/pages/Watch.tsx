/**
 * The watch page: the player (live: WebRTC by default, HLS with ?mode=hls; VOD: HLS), and the
 * stream's room beside it: chat, reactions, polls, presence; moderation for the owner and admins.
 */
import { errorText } from "../api";
import { useEffect, useState } from "preact/hooks";
import type { StreamCard } from "../api";
import { Chat } from "../components/Chat";
import { FollowButton } from "../components/Follow";
import { clock } from "../components/Card";
import { NewPoll, Polls, PresenceLine, Reactions } from "../components/Interact";
import { lazy } from "../lazy";
import { session } from "../session";
import { onPageExit, telemetry } from "../telemetry";
import { socket } from "../socket";
import { useRoom } from "../useRoom";

/** How often a page waiting for a scheduled show looks whether it started. */
const NOT_LIVE_POLL_MS = 5000;

const LivePlayer = lazy(() => import("../player/LivePlayer"));
const HlsPlayer = lazy(() => import("../player/HlsPlayer"));

export interface Stream extends StreamCard {
  ownerId: string;
  description?: string;
  /** public (listed), unlisted (link only) or private (owner, admins and granted users). */
  visibility?: "public" | "unlisted" | "private";
  /** A private stream's granted usernames (shown to its owner). */
  grantNames?: string[];
  /** A video's caption languages. */
  captions?: { lang: string; label: string }[];
}

/** Where this viewer left off in a video (GET /api/resume/:id): seconds, null for the start;
 *  undefined while asked (the player waits: a start position cannot be changed once loading). */
function useResume(stream: Stream | undefined): [number | null | undefined, () => void] {
  const [at, setAt] = useState<number | null>();
  const vod = stream?.kind === "vod" && stream.status === "ready";
  useEffect(() => {
    if (!stream) return;
    if (!vod) return setAt(null);
    let live = true;
    session.authed<{ positionSec: number | null }>("GET", `/api/resume/${encodeURIComponent(stream.id)}`).then((r) => live && setAt(r.positionSec), () => live && setAt(null));
    return () => {
      live = false;
    };
  }, [stream?.id, vod]);
  return [at, () => setAt(null)];
}

function Player({ stream, mode, bufferSec }: { stream: Stream; mode: string; bufferSec: number | undefined }) {
  const [resume, startOver] = useResume(stream);
  if (stream.kind === "live" && stream.status !== "live") return <p class="player-placeholder status">{stream.status === "ended" ? "This stream has ended." : "Not live yet: this page starts playing when it does."}</p>;
  if (stream.kind === "vod" && stream.status !== "ready") return <p class="player-placeholder status">{`${stream.status}…`}</p>;
  if (stream.kind === "live" && mode !== "hls") return <LivePlayer streamId={stream.id} />;
  if (stream.kind === "live") return <HlsPlayer streamId={stream.id} live bufferSec={bufferSec} />;
  if (resume === undefined) return <p class="player-placeholder status" role="status">Loading…</p>;
  return (
    <>
      <HlsPlayer streamId={stream.id} live={false} bufferSec={bufferSec} startSec={resume ?? undefined} captions={stream.captions} />
      {resume ? (
        <p class="resume status">
          Resumed at {clock(resume)}{" "}
          <button type="button" onClick={startOver}>Start over</button>
        </p>
      ) : null}
    </>
  );
}

/** `mode`: "hls" plays a live stream over HLS; `bufferSec`: seconds buffered ahead (?buffer=). */
export function Watch({ id, mode, bufferSec }: { id: string; mode: string; bufferSec?: number | undefined }) {
  const [stream, setStream] = useState<Stream>();
  const [error, setError] = useState("");
  const waiting = stream?.kind === "live" && stream.status === "created";
  useEffect(() => {
    const load = () => session.authed<Stream>("GET", `/api/streams/${encodeURIComponent(id)}`).then(setStream, (e: unknown) => setError(errorText(e)));
    void load();
    if (!waiting) return;
    // A scheduled show starts playing here when it goes live: its status is looked at again.
    const t = setInterval(() => void load(), NOT_LIVE_POLL_MS);
    return () => clearInterval(t);
  }, [id, waiting]);
  useEffect(() => {
    // join / exit count the audience (docs/events.md): leaving the page, or closing it.
    const exit = () => telemetry().track("exit", { stream: id });
    telemetry().track("join", { stream: id });
    const off = onPageExit(exit);
    return () => (off(), exit());
  }, [id]);
  const room = useRoom(stream ? id : undefined);
  if (error) return <p class="status error" role="alert">{error}</p>;
  if (!stream) return <p class="status" role="status">Loading…</p>;
  const me = session.user;
  const moderator = me !== undefined && !me.guest && (me.id === stream.ownerId || me.role === "admin");
  const track = (type: string) => () => telemetry().track(type, { stream: id });
  return (
    <div class="watch">
      <div class="stage">
        <Player stream={stream} mode={mode} bufferSec={bufferSec} />
        <h1>{stream.title}</h1>
        {stream.ownerName ? <FollowButton creatorId={stream.ownerId} creatorName={stream.ownerName} /> : null}
        {room ? <PresenceLine room={room} /> : null}
        {stream.description ? <p class="status">{stream.description}</p> : null}
      </div>
      <aside class="side">
        {room?.error ? <p role="alert" class="status error">{room.error}</p> : null}
        {room ? <Reactions room={room} onReact={track("reaction")} /> : null}
        {room ? <Polls room={room} moderator={moderator} onVote={track("vote")} /> : null}
        {room && moderator ? <NewPoll room={room} /> : null}
        {room ? <Chat room={room} moderator={moderator} me={me?.id} onSend={track("chat")} /> : null}
        {room && !room.joined ? <p class="status" role="status">{socket.stoppedReason ? `Disconnected: ${socket.stoppedReason}` : "Reconnecting…"}</p> : null}
      </aside>
    </div>
  );
}
