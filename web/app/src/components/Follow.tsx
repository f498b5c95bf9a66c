/**
 * Follow a creator (GET/PUT/DELETE /api/follows, /api/creators/:id/followers) and, while
 * following, turn their "went live" notifications off or on (PATCH /api/follows/:id). Guests are
 * asked to log in. Shows the follower count.
 */
import { useEffect, useState } from "preact/hooks";
import { errorText } from "../api";
import { session } from "../session";

export interface FollowState {
  creatorId: string;
  count: number;
  following: boolean;
  muted: boolean;
}

const followers = (n: number) => `${n.toLocaleString()} follower${n === 1 ? "" : "s"}`;

export function FollowButton({ creatorId, creatorName }: { creatorId: string; creatorName: string }) {
  const [state, setState] = useState<FollowState>();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const id = encodeURIComponent(creatorId);
  useEffect(() => {
    session.authed<FollowState>("GET", `/api/creators/${id}/followers`).then(setState, (e: unknown) => setError(errorText(e)));
  }, [creatorId, session.user?.id]);
  if (!state) return error ? <p class="status error" role="alert">{error}</p> : null;
  const act = (run: () => Promise<unknown>, next: Partial<FollowState>) => {
    setBusy(true);
    setError("");
    run()
      .then(() => setState((s) => s && { ...s, ...next, count: s.count + (next.following === undefined || next.following === s.following ? 0 : next.following ? 1 : -1) }))
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  const mine = session.user?.id === creatorId;
  return (
    <div class="follow">
      <span class="creator">{creatorName}</span>
      <span class="followers" aria-live="polite">{followers(state.count)}</span>
      {mine ? null : !session.loggedIn ? (
        <span class="status">Log in to follow {creatorName}</span>
      ) : state.following ? (
        <>
          <button type="button" aria-pressed="true" disabled={busy} onClick={() => act(() => session.authed("DELETE", `/api/follows/${id}`), { following: false, muted: false })}>
            Following
          </button>
          <button type="button" class="bell" aria-pressed={!state.muted} disabled={busy} onClick={() => act(() => session.authed("PATCH", `/api/follows/${id}`, { muted: !state.muted }), { muted: !state.muted })}>
            {state.muted ? `Notify me when ${creatorName} goes live` : "Live notifications on"}
          </button>
        </>
      ) : (
        <button type="button" aria-pressed="false" disabled={busy} onClick={() => act(() => session.authed("PUT", `/api/follows/${id}`), { following: true, muted: false })}>
          Follow
        </button>
      )}
      {error ? <span class="status error" role="alert">{error}</span> : null}
    </div>
  );
}
