/**
 * msgpackr as Moleculer's wire format. Every node on a bus must use the same serializer.
 * Records/structures are off: nodes start and stop independently and share no structure table.
 */
import { Serializers } from "moleculer";
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

export class MsgpackrSerializer extends Serializers.Base {
  override serialize(obj: Record<string, unknown>): Buffer {
    return packr.pack(obj);
  }

  override deserialize(buf: Buffer): Record<string, unknown> {
    return packr.unpack(buf) as Record<string, unknown>;
  }
}

/** The same codec for WebSocket frames, so clients and nodes speak one msgpack dialect. */
export const wireCodec = packr;
