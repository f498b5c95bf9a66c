/**
 * A ready video's captions in the studio: its languages (remove one), and a form to attach a
 * WebVTT file in a language (PUT /api/streams/:id/captions/:lang). A bad file is refused by the
 * server with the line that is wrong, shown here as it said it.
 */
import { useEffect, useState } from "preact/hooks";
import { errorText } from "../api";
import { field } from "../form";
import type { Stream } from "../pages/Watch";
import { session } from "../session";

export function CaptionsEditor({ s, onChanged }: { s: Stream; onChanged: () => void }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const url = (lang: string) => `/api/streams/${encodeURIComponent(s.id)}/captions/${encodeURIComponent(lang)}`;
  const run = (p: Promise<unknown>) => {
    setBusy(true);
    setError("");
    p.then(onChanged, (e: unknown) => setError(errorText(e))).finally(() => setBusy(false));
  };
  return (
    <details class="captions">
      <summary>Captions{s.captions?.length ? ` (${s.captions.map((c) => c.lang).join(", ")})` : ""}</summary>
      <ul>
        {(s.captions ?? []).map((c) => (
          <li key={c.lang}>
            {c.label} ({c.lang}){" "}
            <button type="button" disabled={busy} aria-label={`Remove ${c.label} captions of ${s.title}`} onClick={() => run(session.authed("DELETE", url(c.lang)))}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form
        aria-label={`Add captions to ${s.title}`}
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const f = new FormData(form);
          const file = f.get("vtt");
          if (!(file instanceof File) || file.size === 0) return setError("Choose a WebVTT (.vtt) file");
          run(file.text().then((vtt) => session.authed("PUT", url(field(f, "lang").trim()), { label: field(f, "label").trim(), vtt })).then(() => form.reset()));
        }}
      >
        <input name="lang" aria-label="Language code" placeholder="en" required pattern="[a-z]{2,3}(-[A-Za-z0-9]{2,8})?" maxLength={12} size={5} />
        <input name="label" aria-label="Language name" placeholder="English" required maxLength={64} />
        <input name="vtt" type="file" accept=".vtt,text/vtt" aria-label="WebVTT file" required />
        <button type="submit" disabled={busy}>Add captions</button>
      </form>
      {error ? <p role="alert" class="status error">{error}</p> : null}
    </details>
  );
}

/** "1,234 followers" for the creator (GET /api/creators/:id/followers). */
export function FollowerCount({ creatorId }: { creatorId: string }) {
  const [n, setN] = useState<number>();
  useEffect(() => {
    session.authed<{ count: number }>("GET", `/api/creators/${encodeURIComponent(creatorId)}/followers`).then((r) => setN(r.count), () => undefined);
  }, [creatorId]);
  return n === undefined ? null : <p class="status followers-count">{`${n.toLocaleString()} follower${n === 1 ? "" : "s"}`}</p>;
}
