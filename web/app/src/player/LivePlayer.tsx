/**
 * Live video over WebRTC (mediasoup-client over the app's socket): sub-second, a quality choice
 * (auto or a simulcast layer) and a stats line. A media node restarting answers UNAVAILABLE or
 * says "reconnect": the player tries again with backoff.
 */
import { errorText } from "../api";
import { useEffect, useRef, useState } from "preact/hooks";
import { QUALITIES } from "../../../../protocol/media";
import { LiveMedia, type Quality } from "../lib/live-media";
import type { View } from "../lib/telemetry";
import { socket } from "../socket";
import { telemetry } from "../telemetry";

function useLiveMedia(streamId: string, video: { current: HTMLVideoElement | null }): { media: LiveMedia | undefined; state: string; view: () => View | undefined } {
  const [state, setState] = useState("connecting…");
  const [media, setMedia] = useState<LiveMedia>();
  const viewRef = useRef<View | undefined>(undefined);
  useEffect(() => {
    let current: LiveMedia | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gone = false;
    const start = (attempt: number) => {
      current?.close();
      viewRef.current?.end(); // one view per attempt: the last one ends before the next starts
      viewRef.current = undefined;
      if (gone || !video.current || !socket.online) return;
      const thisView = telemetry().watch(video.current, { stream: streamId, protocol: "webrtc" });
      viewRef.current = thisView;
      const m = new LiveMedia((t, d) => socket.request(t, d), streamId, {
        onState: (s) => {
          setState(s === "ended" ? "the stream has ended" : s);
          // The server said join again (a worker died, the node stops): at once, jittered over
          // 300 ms so a worker's viewers do not all arrive together.
          if (s === "reconnect") timer = setTimeout(() => start(0), 50 + Math.random() * 300);
        },
      });
      current = m;
      setMedia(m);
      (window as unknown as { liveMedia: LiveMedia }).liveMedia = m; // for tests and the console
      m.watch(video.current).then(
        () => setState(m.consumers.size ? "live" : "waiting for the broadcaster"),
        (err: unknown) => {
          setState(`video unavailable: ${errorText(err)}`);
          thisView.error("WEBRTC_UNAVAILABLE", attempt >= 8);
          if (attempt < 8) timer = setTimeout(() => start(attempt + 1), 500 * 2 ** Math.min(attempt, 4));
        },
      );
    };
    const offPush = socket.onPush((f) => current?.onNotice(f));
    const offState = socket.onState((online) => (online ? start(0) : current?.close()));
    socket.start();
    start(0);
    return () => {
      gone = true;
      clearTimeout(timer);
      offPush();
      offState();
      current?.close();
      viewRef.current?.end();
    };
  }, [streamId]);
  return { media, state, view: () => viewRef.current };
}

export default function LivePlayer({ streamId }: { streamId: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const { media, state, view } = useLiveMedia(streamId, video);
  const choose = (q: Quality) => {
    view()?.quality(q, 0); // a manual layer choice is a rendition switch (bitrate unknown here)
    void media?.setQuality(q);
  };
  const [stats, setStats] = useState("");
  useEffect(() => {
    const t = setInterval(() => {
      if (!media || media.closed) return;
      void media.stats().then((s) => setStats(s.height ? `${String(s.width)}x${String(s.height)} · ${String(s.kbps)} kbit/s · ~${String(s.latencyMs ?? "?")} ms` : ""));
    }, 1000);
    return () => clearInterval(t);
  }, [media]);
  return (
    <div class="player">
      <video ref={video} autoplay playsInline muted controls aria-label="Live video" />
      <div class="player-bar">
        <span class="live-state" role="status">{state}</span>
        <span class="stats">{stats}</span>
        <label>
          Quality{" "}
          <select aria-label="Quality" onChange={(e) => choose(e.currentTarget.value as Quality)}>
            {QUALITIES.map((q) => (
              <option key={q} value={q}>{q}</option>
            ))}
          </select>
        </label>
      </div>
    </div>
  );
}
