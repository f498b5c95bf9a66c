/**
 * Captions for the HLS player: each language's WebVTT (GET /vod/<id>/subs/<lang>.vtt, fetched with
 * the viewer's token so private videos work too) as a <track> of the video element, and a menu
 * to pick one or none. The choice is remembered (localStorage) for the next video.
 */
import { useEffect, useState } from "preact/hooks";
import { session } from "../session";

export interface Caption {
  lang: string;
  label: string;
}

const CHOICE_KEY = "esh.captions";

/** The <track>s: blob URLs of the fetched files (revoked when the video changes). */
export function useCaptionTracks(streamId: string, captions: readonly Caption[]): { lang: string; label: string; src: string }[] {
  const [tracks, setTracks] = useState<{ lang: string; label: string; src: string }[]>([]);
  const key = captions.map((c) => c.lang).join(",");
  useEffect(() => {
    const life = { live: true };
    const urls: string[] = [];
    void (async () => {
      const token = await session.token().catch(() => undefined);
      if (token === undefined) return; // the server unreachable: no captions, the video plays on
      const got = await Promise.all(
        captions.map(async (c) => {
          const r = await fetch(`/vod/${encodeURIComponent(streamId)}/subs/${encodeURIComponent(c.lang)}.vtt`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
          if (!r?.ok) return undefined;
          const src = URL.createObjectURL(new Blob([await r.text()], { type: "text/vtt" }));
          urls.push(src);
          return { ...c, src };
        }),
      );
      if (life.live) setTracks(got.filter((t) => t !== undefined));
    })();
    return () => {
      life.live = false;
      for (const u of urls) URL.revokeObjectURL(u);
    };
  }, [streamId, key]);
  return tracks;
}

/** The captions menu: Off or a language; shows the chosen track, hides the rest. */
export function CaptionsMenu({ video, tracks }: { video: HTMLVideoElement | null; tracks: { lang: string; label: string }[] }) {
  const [choice, setChoice] = useState(() => localStorage.getItem(CHOICE_KEY) ?? "");
  useEffect(() => {
    if (!video) return;
    const apply = () => {
      for (const t of Array.from(video.textTracks)) t.mode = t.language === choice ? "showing" : "disabled";
    };
    apply();
    video.textTracks.addEventListener("addtrack", apply);
    return () => video.textTracks.removeEventListener("addtrack", apply);
  }, [video, choice, tracks.length]);
  if (tracks.length === 0) return null;
  return (
    <label>
      Captions{" "}
      <select
        aria-label="Captions"
        value={tracks.some((t) => t.lang === choice) ? choice : ""}
        onChange={(e) => {
          const v = e.currentTarget.value;
          setChoice(v);
          localStorage.setItem(CHOICE_KEY, v);
        }}
      >
        <option value="">Off</option>
        {tracks.map((t) => (
          <option key={t.lang} value={t.lang}>{t.label}</option>
        ))}
      </select>
    </label>
  );
}
