/**
 * Go live from the browser (camera or screen, plus the microphone, three simulcast layers over
 * WebRTC), or from OBS and other encoders over RTMP or WHIP (Encoder.tsx). The room beside it:
 * audience, chat, polls.
 */
import { errorText } from "../api";
import { useEffect, useRef, useState } from "preact/hooks";
import { LiveMedia } from "../lib/live-media";
import { socket } from "../socket";
import { Encoder } from "./Encoder";

async function capture(source: "camera" | "screen"): Promise<MediaStream> {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true }).catch(() => null);
  const video = source === "screen" ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 } }) : await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } });
  return new MediaStream([...video.getVideoTracks(), ...(mic ? mic.getAudioTracks() : [])]);
}

export function GoLive({ streamId, onEnded }: { streamId: string; onEnded: () => void }) {
  const preview = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState("ready");
  const [error, setError] = useState("");
  const [stats, setStats] = useState("");
  const media = useRef<LiveMedia>();
  const tracks = useRef<MediaStream>();
  useEffect(() => {
    const off = socket.onPush((f) => media.current?.onNotice(f));
    const t = setInterval(() => {
      const m = media.current;
      if (m && !m.closed) void m.stats().then((s) => setStats(`sending ${String(s.kbps)} kbit/s · ${String(s.width)}x${String(s.height)}`));
    }, 1000);
    return () => (off(), clearInterval(t), media.current?.close(), tracks.current?.getTracks().forEach((tr) => tr.stop()));
  }, [streamId]);
  const publish = async (ms: MediaStream, source: "camera" | "screen", attempt = 0): Promise<void> => {
    const m = new LiveMedia((t, d) => socket.request(t, d), streamId, { onState: (s) => (setState(s), s === "reconnect" && setTimeout(() => void publish(ms, source), 300)) });
    media.current = m;
    (window as unknown as { liveMedia: LiveMedia }).liveMedia = m; // for tests and the console
    try {
      await m.broadcast(ms, source);
      setState("live");
      setError("");
    } catch (err) {
      m.close();
      setError(errorText(err));
      if (attempt < 8 && socket.online) setTimeout(() => void publish(ms, source, attempt + 1), 500 * 2 ** Math.min(attempt, 4));
    }
  };
  const start = async (source: "camera" | "screen") => {
    setError("");
    setState("starting…");
    try {
      const ms = await capture(source);
      tracks.current = ms;
      if (preview.current) preview.current.srcObject = ms;
      await publish(ms, source);
    } catch (err) {
      setState("ready");
      setError(errorText(err));
    }
  };
  const end = async () => {
    await socket.request("media.end", { stream: streamId }).catch((err: unknown) => setError(errorText(err)));
    tracks.current?.getTracks().forEach((tr) => tr.stop());
    media.current?.close();
    setState("ended");
    onEnded();
  };
  const live = state === "live";
  return (
    <section class="panel golive" aria-label="Go live">
      <video ref={preview} autoplay muted playsInline aria-label="Preview" />
      <p class="status" role="status">
        <span class="broadcast-state">{state}</span> {stats}
      </p>
      <div class="actions">
        <button type="button" disabled={live || state === "starting…"} onClick={() => void start("camera")}>Go live with camera</button>
        <button type="button" disabled={live || state === "starting…"} onClick={() => void start("screen")}>Share screen</button>
        <button type="button" class="danger" disabled={!live} onClick={() => void end()}>End stream</button>
      </div>
      {error ? <p role="alert" class="status error">{error}</p> : null}
      <Encoder streamId={streamId} />
    </section>
  );
}
