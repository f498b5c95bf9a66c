/**
 * Streaming from an encoder the creator already owns (OBS, vMix, Larix, a hardware box, ffmpeg):
 * the RTMP server and stream key (hidden until revealed; copy, rotate), the WHIP URL for encoders
 * that speak it, short OBS steps, and what is coming in now (RTMP or WebRTC, bitrate, fps, size).
 */
import { useEffect, useState } from "preact/hooks";
import type { IngestSettings, IngestStatus } from "../../../../protocol/ingest";
import { errorText } from "../api";
import { ConfirmDialog } from "../components/Dialog";
import { session } from "../session";

function Copyable({ label, value, secret = false, shown = true }: { label: string; value: string; secret?: boolean; shown?: boolean }) {
  const [note, setNote] = useState("");
  const copy = () =>
    void navigator.clipboard.writeText(value).then(
      () => setNote("copied"),
      () => setNote("select and copy it"),
    );
  return (
    <label>
      {label}{" "}
      <span class="copyable">
        <input readOnly type={secret && !shown ? "password" : "text"} value={value} aria-label={label} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={copy} aria-label={`Copy ${label}`}>Copy</button>
        <span class="status" role="status">{note}</span>
      </span>
    </label>
  );
}

function IncomingLine({ streamId }: { streamId: string }) {
  const [s, setS] = useState<IngestStatus>();
  useEffect(() => {
    const load = () => void session.authed<IngestStatus>("GET", `/api/streams/${streamId}/ingest`).then(setS, () => undefined);
    load();
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [streamId]);
  if (!s) return null;
  const text = s.ingest === null ? "Nothing is coming in." : s.ingest === "webrtc" ? "Live over WebRTC." : `Live over ${s.ingest.toUpperCase()}: ${String(s.videoKbps ?? 0)} kbit/s · ${String(s.fps ?? 0)} fps · ${s.height ? `${String(s.width)}x${String(s.height)}` : "…"}${s.audio ? " · audio" : " · no audio"}`;
  return (
    <>
      <p class="status ingest-status" role="status">{text}</p>
      {s.lastRefusal ? <p class="status error ingest-refusal" role="alert">{`Last encoder refused or cut off at ${new Date(s.lastRefusal.at).toLocaleTimeString()}: ${s.lastRefusal.why}`}</p> : null}
    </>
  );
}

export function Encoder({ streamId }: { streamId: string }) {
  const [settings, setSettings] = useState<IngestSettings>();
  const [shown, setShown] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    session.authed<IngestSettings>("GET", `/api/streams/${streamId}/key`).then(setSettings, (e: unknown) => setError(errorText(e)));
  }, [streamId]);
  const [asking, setAsking] = useState(false);
  const rotate = () => {
    setAsking(false);
    session.authed<IngestSettings>("POST", `/api/streams/${streamId}/key`).then((s) => (setSettings(s), setShown(true)), (e: unknown) => setError(errorText(e)));
  };
  const rtmpServer = settings?.rtmp?.server.replace("{host}", location.hostname);
  return (
    <details class="whip encoder">
      <summary>Stream from OBS or another encoder</summary>
      <IncomingLine streamId={streamId} />
      {error ? <p role="alert" class="status error">{error}</p> : null}
      {settings ? (
        <>
          {rtmpServer ? <Copyable label="RTMP server" value={rtmpServer} /> : <p class="status">RTMP is off on this server: use WHIP.</p>}
          <Copyable label="Stream key" value={settings.key} secret shown={shown} />
          {settings.srt ? <Copyable label="SRT URL (carries the key)" value={settings.srt.replace("{host}", location.hostname)} secret shown={shown} /> : null}
          <div class="actions">
            <button type="button" onClick={() => setShown(!shown)} aria-pressed={shown}>{shown ? "Hide key" : "Show key"}</button>
            <button type="button" class="danger" onClick={() => setAsking(true)}>Rotate key</button>
          </div>
          {asking ? <ConfirmDialog title="Rotate the stream key?" message="A new stream key: encoders using the old one are cut off now." confirmLabel="Rotate key" danger onConfirm={rotate} onCancel={() => setAsking(false)} /> : null}
          <Copyable label="WHIP URL (the stream key is the bearer token)" value={`${location.origin}${settings.whip.url}`} />
          <ol class="status obs-steps">
            <li>OBS → Settings → Stream: Service “Custom…”.</li>
            <li>Server: the RTMP server above; Stream Key: the stream key.</li>
            <li>Output: H.264 (x264 or hardware) and AAC; keyframe interval 1–2 s.</li>
            <li>Start Streaming: this studio shows it live within seconds.</li>
            <li>Keep the key secret: anyone holding it can go live here. Rotate it if it leaks.</li>
          </ol>
        </>
      ) : null}
    </details>
  );
}
