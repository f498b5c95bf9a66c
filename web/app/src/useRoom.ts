/** The room model of a stream, alive while the component is mounted, redrawing on each change. */
import { useEffect, useState } from "preact/hooks";
import { RoomModel } from "./room";

export function useRoom(id: string | undefined): RoomModel | undefined {
  const [room, setRoom] = useState<RoomModel>();
  const [, redraw] = useState(0);
  useEffect(() => {
    if (!id) return;
    const r = new RoomModel(id);
    const off = r.on(() => redraw((n) => n + 1));
    setRoom(r);
    return () => {
      off();
      r.close();
    };
  }, [id]);
  return room;
}
