import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkVtt, LADDER_FIRST_PTS, masterWithCaptions, subtitlesPlaylist, withTimestampMap } from "./captions.js";

const MASTER = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\n240p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1400000,RESOLUTION=1280x720\n720p/index.m3u8\n";

describe("captions", () => {
  it("accepts WebVTT and refuses a bad file with the line that is wrong", () => {
    assert.deepEqual(checkVtt("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n\n00:00:03.000 --> 00:00:04.500\nWorld\n"), { cues: 2 });
    assert.deepEqual(checkVtt("\uFEFFWEBVTT\n\n00:01.000 --> 00:02.000\nHi\n"), { cues: 1 });
    const refused = (text: string, re: RegExp) => assert.throws(() => checkVtt(text), (e: Error & { type?: string; data?: { errors?: { line: number }[] } }) => e.type === "BAD_REQUEST" && re.test(e.message) && Array.isArray(e.data?.errors));
    refused("1\n00:00:01,000 --> 00:00:02,000\nAn SRT file\n", /line 1: No valid signature/);
    refused("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:xx --> 00:00:04.000\nbad\n", /^Not valid WebVTT: line 6, column 7: /);
    refused("WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nbackwards\n", /line 3.*End timestamp is not greater/);
    refused("WEBVTT\n", /no cues/);
    assert.throws(() => checkVtt(`WEBVTT\n\n${"00:00:01.000 --> 00:00:02.000\nx\n\n".repeat(20_000)}`), (e: Error & { type?: string }) => e.type === "PAYLOAD_TOO_LARGE");
  });

  it("announces captions in the master as one SUBTITLES group, replaced (not added to) on every change", () => {
    const one = masterWithCaptions(MASTER, [{ lang: "en", label: "English" }, { lang: "fr", label: 'Fran"çais' }]);
    assert.equal(one.match(/#EXT-X-MEDIA:TYPE=SUBTITLES/g)?.length, 2);
    assert.match(one, /#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="subs\/en.m3u8"\n/);
    assert.match(one, /NAME="Français",LANGUAGE="fr"/);
    assert.equal(one.match(/,SUBTITLES="subs"/g)?.length, 2);
    assert.ok(one.indexOf("#EXT-X-MEDIA") < one.indexOf("#EXT-X-STREAM-INF"));
    const again = masterWithCaptions(one, [{ lang: "de", label: "Deutsch" }]);
    assert.equal(again.match(/#EXT-X-MEDIA:TYPE=SUBTITLES/g)?.length, 1);
    assert.equal(again.match(/,SUBTITLES="subs"/g)?.length, 2);
    assert.equal(masterWithCaptions(again, []), MASTER);
  });

  it("serves each language as a one-file subtitles playlist as long as the video", () => {
    assert.equal(subtitlesPlaylist("en", 12.5), "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:13\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:12.500,\nen.vtt\n#EXT-X-ENDLIST\n");
  });

  it("ties the captions' 00:00 to the video's first MPEG-TS timestamp, replacing a map the file had (the Chromium journey shows browsers still read the cues)", () => {
    const mapped = withTimestampMap("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n", 126000);
    assert.equal(mapped, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:02.000\nHi\n");
    const again = withTimestampMap("\uFEFFWEBVTT - title\r\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\r\n\r\n00:01.000 --> 00:02.000\r\nHi\r\n", 126000);
    assert.equal(again.match(/X-TIMESTAMP-MAP/g)?.length, 1);
    assert.match(again, /^WEBVTT - title\nX-TIMESTAMP-MAP=MPEGTS:126000,/);
  });

  it("ffmpeg's HLS segments (the ladder's muxer) start where the map says (real ffmpeg)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-pts-"));
    try {
      execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=30", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-f", "hls", "-hls_time", "2", "-hls_segment_type", "mpegts", "-hls_segment_filename", path.join(dir, "seg_%05d.ts"), path.join(dir, "index.m3u8")]);
      const start = Number(execFileSync("ffprobe", ["-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0", path.join(dir, "seg_00000.ts")]).toString());
      assert.equal(Math.round(start * 90_000), LADDER_FIRST_PTS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
