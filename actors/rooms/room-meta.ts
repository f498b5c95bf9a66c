/** A room's stored record (key `rooms/<id>`): its settings, moderation lists and access. */
import type { Visibility } from "../streams/visibility.js";

export interface RoomMeta {
  id: string;
  ownerId: string;
  chatEnabled: boolean;
  /** Minimum seconds between two chat messages of one user; 0 = off. */
  slowModeSec: number;
  /** Banned user ids: refused at join, chat and vote; kicked when banned. */
  bans?: string[];
  /** Muted user id -> until (ms since the epoch). */
  mutes?: Record<string, number>;
  /** Who may join, read and write: its stream's visibility and grants (streams keeps them in step),
   *  so the room decides on its own data, whichever node runs the catalog. */
  visibility?: Visibility;
  grants?: string[];
  createdAt: number;
  updatedAt: number;
}
