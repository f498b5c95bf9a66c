/**
 * WebSocket messages for live media signalling (docs/protocol.md#media), one handler each.
 * The flow a client follows (mediasoup-client does the browser side):
 *   media.join {stream, role} -> router RTP capabilities + one transport (+ producers live now)
 *   media.connect {stream, transportId, dtlsParameters}
 *   broadcaster: media.produce {stream, transportId, kind, rtpParameters, source} per track
 *   viewer: media.consume {stream, transportId, rtpCapabilities} -> paused consumers;
 *           media.resume {stream, consumerId} once each is set up; media.quality to pin a layer
 *   media.leave {stream}; the owner ends the stream with media.end {stream}
 */
import { MEDIA_OBJECT_ID_SCHEMA, QUALITIES } from "../../protocol/media.js";
import { def } from "./message-def.js";
import { ID_SCHEMA as id } from "../../protocol/ids.js";

const mediaId = MEDIA_OBJECT_ID_SCHEMA;
const obj = { type: "object" };

export const MEDIA_MESSAGES = {
  "media.join": def<{ stream: string; role: "broadcaster" | "viewer" }>({ stream: id, role: { type: "enum", values: ["broadcaster", "viewer"] } }, (d, conn, env) =>
    env.media.join(conn, d.stream, d.role),
  ),

  "media.connect": def<{ stream: string; transportId: string; dtlsParameters: object }>({ stream: id, transportId: mediaId, dtlsParameters: obj }, (d, conn, env) =>
    env.media.call(conn, d.stream, "connect", { transportId: d.transportId, dtlsParameters: d.dtlsParameters }),
  ),

  "media.produce": def<{ stream: string; transportId: string; kind: string; rtpParameters: object; source: string }>(
    { stream: id, transportId: mediaId, kind: { type: "enum", values: ["audio", "video"] }, rtpParameters: obj, source: { type: "enum", values: ["camera", "screen", "mic"] } },
    (d, conn, env) => env.media.call(conn, d.stream, "produce", { transportId: d.transportId, kind: d.kind, rtpParameters: d.rtpParameters, source: d.source }),
  ),

  "media.consume": def<{ stream: string; transportId: string; rtpCapabilities: object }>({ stream: id, transportId: mediaId, rtpCapabilities: obj }, (d, conn, env) =>
    env.media.call(conn, d.stream, "consume", { transportId: d.transportId, rtpCapabilities: d.rtpCapabilities }),
  ),

  "media.resume": def<{ stream: string; consumerId: string }>({ stream: id, consumerId: mediaId }, (d, conn, env) => env.media.call(conn, d.stream, "resume", { consumerId: d.consumerId })),

  "media.quality": def<{ stream: string; consumerId: string; quality: string }>({ stream: id, consumerId: mediaId, quality: { type: "enum", values: [...QUALITIES] } }, (d, conn, env) =>
    env.media.call(conn, d.stream, "quality", { consumerId: d.consumerId, quality: d.quality }),
  ),

  "media.leave": def<{ stream: string }>({ stream: id }, (d, conn, env) => ({ left: env.media.leave(conn, d.stream) })),

  "media.end": def<{ stream: string }>({ stream: id }, (d, conn, env) => env.media.call(conn, d.stream, "end", {}).then((r) => {
    env.media.leave(conn, d.stream);
    return r;
  })),
};
