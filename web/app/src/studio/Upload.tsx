/** Upload a video: the tus progress, then the encoder's progress pushed on the socket. */
import { errorText } from "../api";
import { useEffect, useState } from "preact/hooks";
import { field } from "../form";
import { href } from "../router";
import { socket } from "../socket";
import { upload } from "./upload";

interface Progress {
  streamId?: string;
  sent: number;
  total: number;
  encode?: { status: string; percent: number; error?: string };
  error?: string;
}

export function Upload({ onDone }: { onDone: () => void }) {
  const [p, setP] = useState<Progress>();
  useEffect(() => {
    socket.start();
    return socket.onPush((f) => {
      if (f.t !== "encode.progress") return;
      const d = f.d as { streamId: string; status: string; percent: number; error?: string };
      setP((cur) => (cur && cur.streamId === d.streamId ? { ...cur, encode: d } : cur));
      if (d.status === "done") onDone();
    });
  }, []);
  const busy = p !== undefined && !p.error && p.encode?.status !== "done" && p.encode?.status !== "failed";
  return (
    <section class="panel" aria-label="Upload a video">
      <h2>Upload a video</h2>
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const file = f.get("file");
          if (!(file instanceof File) || !file.size) return;
          const title = field(f, "title").trim() || file.name;
          setP({ sent: 0, total: file.size });
          upload(file, title, (streamId) => setP((c) => ({ ...(c ?? { sent: 0, total: file.size }), streamId })), (sent, total) => setP((c) => ({ ...(c ?? {}), sent, total })))
            .then(() => setP((c) => (c ? { ...c, encode: c.encode ?? { status: "queued", percent: 0 } } : c)))
            .catch((err: unknown) => setP((c) => ({ ...(c ?? { sent: 0, total: 0 }), error: errorText(err) })));
        }}
      >
        <input name="title" aria-label="Title" placeholder="Title" maxLength={200} />
        <input name="file" type="file" accept="video/*" aria-label="Video file" required />
        <button type="submit" disabled={busy}>Upload</button>
      </form>
      {p ? (
        <div class="progress-list">
          <label>
            Upload <progress max={100} value={p.total ? (100 * p.sent) / p.total : 0} aria-label="Upload progress" /> <span>{`${(p.sent / 1e6).toFixed(1)} / ${(p.total / 1e6).toFixed(1)} MB`}</span>
          </label>
          <label>
            Encoding <progress max={100} value={p.encode?.percent ?? 0} aria-label="Encoding progress" /> <span class="encode-state">{p.encode ? (p.encode.status === "running" ? `${String(p.encode.percent)}%` : p.encode.status) : "waiting"}</span>
          </label>
          {p.encode?.status === "done" && p.streamId ? <a href={href(`/watch/${p.streamId}`)}>Watch it</a> : null}
          {p.error || p.encode?.error ? <p role="alert" class="status error">{p.error ?? p.encode?.error}</p> : null}
        </div>
      ) : null}
    </section>
  );
}
