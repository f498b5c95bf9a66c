/**
 * The rooms part of the wire (docs/protocol.md#rooms): what a room sends to its audience, what a
 * join answers, and the schemas of the fields clients send (the gateway's room.* messages and
 * the rooms actor's params are built from the same ones).
 *
 * What a room sends to its audience. Sequenced events (chat, deletions, polls opened and
 * closed, moderation) carry the room's `seq`, are kept in the log and replayed on recovery.
 * Aggregates (reaction counts per window, poll tallies, presence) are ephemeral: they carry no
 * seq, because a client that missed one only needs the next.
 */
import { ID_SCHEMA } from "./ids.js";

export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "👏", "🔥", "🎉"] as const;
export type Reaction = (typeof REACTIONS)[number];

export interface UserRef {
  id: string;
  name: string;
}

export interface PollPublic {
  id: string;
  question: string;
  options: string[];
  open: boolean;
  counts: number[];
  votes: number;
}

export type RoomEvent =
  /** `cid`: the sender's own message id, when it sent one; a re-send with it is not stored twice. */
  | { seq: number; ts: number; kind: "chat"; user: UserRef; text: string; cid?: string }
  | { seq: number; ts: number; kind: "deleted"; target: number; by: string }
  | { seq: number; ts: number; kind: "poll.opened"; poll: PollPublic }
  | { seq: number; ts: number; kind: "poll.closed"; poll: PollPublic }
  | { seq: number; ts: number; kind: "muted"; userId: string; until: number }
  | { seq: number; ts: number; kind: "banned"; userId: string };

/** A sequenced event before the owner numbers it. */
export type NewRoomEvent = RoomEvent extends infer E ? (E extends RoomEvent ? Omit<E, "seq" | "ts"> : never) : never;

export type Ephemeral =
  | { kind: "reactions"; counts: Partial<Record<Reaction, number>>; windowMs: number }
  | { kind: "poll.tally"; poll: PollPublic }
  | { kind: "presence"; count: number; sample: UserRef[] };

/** One fan-out item: what the owner broadcasts to gateways for a room. */
export type RoomItem = RoomEvent | Ephemeral;

export interface RoomOut {
  room: string;
  items: RoomItem[];
}

/** The answer to room.join. */
export interface JoinAnswer {
  seq: number;
  events: RoomEvent[];
  /** Set when `since` could not be honoured: the client must drop its state and use `events`. */
  reset?: "behind" | "ahead";
  polls: PollPublic[];
  presence: { count: number; sample: UserRef[] };
  slowModeSec: number;
  chatEnabled: boolean;
}

/** At most this many joins in one batch (a gateway sends more as several). */
export const JOIN_BATCH_MAX = 500;

/** The room's side of a join answer: the same for everyone in a batch. */
export type JoinBase = Omit<JoinAnswer, "events" | "reset">;

/** Where one joiner's events start in a batch's `history`, or why it may not join. */
export type JoinSlot = { from: number; reset?: "behind" | "ahead" } | { error: { code: string; message: string } };

/**
 * The owner's answer to a gateway's batched join (rooms.join with `members`): the room once,
 * then one slot per member in the order asked. A gateway gathers the joins of a room that
 * arrive while its previous batch is on its way (gateway/join-batcher.ts), so a reconnect storm
 * costs the owner one call per batch, not one per client.
 */
export interface JoinBatchAnswer {
  base: JoinBase;
  history: RoomEvent[];
  members: JoinSlot[];
}

/** One member's JoinAnswer out of a batch answer (an error slot is the caller's to throw). */
export function joinAnswerOf(b: JoinBatchAnswer, slot: { from: number; reset?: "behind" | "ahead" }): JoinAnswer {
  return { ...b.base, events: slot.from === 0 ? b.history : b.history.slice(slot.from), ...(slot.reset ? { reset: slot.reset } : {}) };
}

/** The fields clients send to rooms, one schema each (fastest-validator shapes). */
export const ROOM_FIELDS = {
  since: { type: "number", integer: true, min: 0, optional: true },
  text: { type: "string", min: 1, max: 2000 },
  cid: { type: "string", min: 1, max: 64, optional: true },
  emoji: { type: "enum", values: [...REACTIONS] },
  pollId: ID_SCHEMA,
  option: { type: "number", integer: true, min: 0, max: 31 },
  question: { type: "string", min: 1, max: 300 },
  options: { type: "array", min: 2, max: 10, items: { type: "string", min: 1, max: 100 } },
  seq: { type: "number", integer: true, min: 1 },
  userId: ID_SCHEMA,
  muteSeconds: { type: "number", integer: true, min: 1, max: 7 * 86400 },
} as const;
