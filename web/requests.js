// Request/answer over the platform's WebSocket (JSON frames): `request(t, d)` sends a frame
// with an id and resolves with the `ok` answer's payload or rejects with the `error` message.
export class Requests {
  constructor(prefix) {
    this.prefix = prefix;
    this.pending = new Map();
    this.next = 1;
    this.ws = null;
  }

  request(t, d) {
    const id = `${this.prefix}${this.next++}`;
    this.ws.send(JSON.stringify({ t, id, d }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** Settles the request a frame answers; false when the frame is not an answer (a push). */
  answer(f) {
    const r = f.id !== undefined && this.pending.get(f.id);
    if (!r) return false;
    this.pending.delete(f.id);
    if (f.t === "ok") r.resolve(f.d);
    else r.reject(new Error(f.d.message));
    return true;
  }

  /** The socket closed: every pending request fails. */
  failAll() {
    for (const r of this.pending.values()) r.reject(new Error("connection lost"));
    this.pending.clear();
  }
}
