/**
 * HLS playback (hls.js through the shared player: fast start, ABR, a quality menu, AES-128 keys
 * fetched with the viewer's token, error recovery, keyboard): VOD, and live when chosen. A VOD
 * starts where the viewer left off (`startSec`) and has a captions menu when it has captions.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { createPlayer, keyboard, type Player } from "../lib/player";
import { errorText } from "../api";
import { session } from "../session";
import { telemetry } from "../telemetry";
import { CaptionsMenu, useCaptionTracks, type Caption } from "./Captions";

async function waitForPlaylist(src: string, gone: () => boolean, onWait: () => void): Promise<void> {
  for (let i = 0; i < 60 && !gone(); i++) {
    if ((await fetch(src, { method: "HEAD", headers: { authorization: `Bearer ${await session.token()}` } })).ok) return;
    onWait();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export default function HlsPlayer({ streamId, live, bufferSec, startSec, captions = [] }: { streamId: string; live: boolean; bufferSec?: number | undefined; startSec?: number | undefined; captions?: Caption[] | undefined }) {
  const video = useRef<HTMLVideoElement>(null);
  const tracks = useCaptionTracks(streamId, live ? [] : captions);
  const [player, setPlayer] = useState<Player>();
  const [state, setState] = useState("loading…");
  const [, redraw] = useState(0);
  useEffect(() => {
    const life = { gone: false };
    let p: Player | undefined;
    let view: ReturnType<ReturnType<typeof telemetry>["watch"]> | undefined;
    const src = `/${live ? "live" : "vod"}/${encodeURIComponent(streamId)}/master.m3u8`;
    (async () => {
      if (live) await waitForPlaylist(src, () => life.gone, () => setState("starting…"));
      const token = await session.token();
      const el = video.current;
      if (life.gone || !el) return;
      const level = () => p?.levels[p.level];
      const v = (view = telemetry().watch(el, { stream: streamId, protocol: live ? "hls-live" : "hls", bitrate: () => Math.round((level()?.bitrate ?? 0) / 1000), rendition: () => (level() ? `${String(level()?.height)}p` : "") }));
      performance.mark("play-requested"); // startup time = this -> the first frame (bench/hls.ts reads it)
      if ("requestVideoFrameCallback" in el) el.requestVideoFrameCallback(() => performance.mark("first-frame")); // not in every browser (older Firefox, TVs)
      p = createPlayer(el, {
        src,
        token,
        ...(bufferSec ? { maxBufferSec: bufferSec } : {}),
        ...(startSec ? { startSec } : {}),
        onChange: (what) => {
          redraw((n) => n + 1);
          const l = level();
          if (what === "switched" && l) v.quality(`${String(l.height)}p`, l.bitrate / 1000);
          if (what.startsWith("error")) v.error(what.slice(7), false);
          if (what === "failed") v.error("HLS_FAILED", true);
          if (what.startsWith("error") || what === "failed") setState(what);
        },
      });
      setPlayer(p);
      (window as unknown as { player: Player }).player = p; // for tests and the console
      keyboard(el, el); // shortcuts while the video has focus: arrows elsewhere navigate (TV)
      el.onplaying = () => setState("playing");
      el.onwaiting = () => setState("buffering");
    })().catch((err: unknown) => {
      if (!life.gone) setState(`cannot start: ${errorText(err)}`); // the server unreachable: no token, no playlist
    });
    return () => {
      life.gone = true;
      // The view ends with the player (navigating away in the app), before the player lets go of
      // the video (which resets its playhead), and is sent now: where the viewer left off is
      // known to the server by the time they come back.
      view?.end();
      void telemetry().flush();
      p?.destroy();
    };
  }, [streamId, live, bufferSec, startSec]);
  const current = player?.levels[player.level];
  return (
    <div class="player">
      <video ref={video} controls playsInline poster={live ? undefined : `/vod/${streamId}/poster.jpg`} aria-label="Video">
        {tracks.map((t) => (
          <track key={t.lang} kind="subtitles" src={t.src} srcLang={t.lang} label={t.label} />
        ))}
      </video>
      <div class="player-bar">
        <span class="live-state" role="status">{state}</span>
        <span class="stats">{current ? `${String(current.height)}p · ${String(Math.round(current.bitrate / 1000))} kbit/s${player.auto ? " (auto)" : ""}` : ""}</span>
        <CaptionsMenu video={video.current} tracks={tracks} />
        <label>
          Quality{" "}
          <select aria-label="Quality" value={player?.auto ? "-1" : String(player?.level ?? -1)} onChange={(e) => player?.setLevel(Number(e.currentTarget.value))}>
            <option value="-1">auto</option>
            {(player?.levels ?? []).map((l) => (
              <option key={l.index} value={String(l.index)}>{`${String(l.height)}p`}</option>
            ))}
          </select>
        </label>
      </div>
    </div>
  );
}
