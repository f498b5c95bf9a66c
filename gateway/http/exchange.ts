/**
 * One HTTP request/response over uWS, with its lifetime rules kept in one place: everything
 * from `req` is copied synchronously, `onAborted` is set before any async work, writes are
 * corked, and nothing is written after an abort or after the response ended.
 */
import type { HttpRequest, HttpResponse } from "@trufflesuite/uws-js-unofficial";
import { AppError } from "../../lib/errors.js";
import { newTraceId } from "../../lib/logging.js";
import { clientIp, forwardedFor, type ProxyTrust } from "./client-ip.js";

export interface RequestHead {
  method: string;
  /** Raw path as sent (not decoded). */
  url: string;
  query: URLSearchParams;
  ip: string;
  authorization: string;
  contentType: string;
  contentLength: number | undefined;
  origin: string;
  accessControlRequestHeaders: string;
  /** The other request headers some routes read (Range, caching, tus). */
  extra: Record<(typeof EXTRA_HEADERS)[number], string>;
}

const EXTRA_HEADERS = ["range", "if-none-match", "user-agent", "upload-length", "upload-offset", "upload-metadata", "tus-resumable"] as const;

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 302: "Found", 304: "Not Modified", 416: "Range Not Satisfiable", 400: "Bad Request", 401: "Unauthorized",
  403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
  415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout",
};

export function readHead(res: HttpResponse, req: HttpRequest, trust: ProxyTrust): RequestHead {
  const len = req.getHeader("content-length");
  return {
    method: req.getMethod().toUpperCase(),
    url: req.getUrl(),
    query: new URLSearchParams(rawQuery(req)),
    ip: clientIp(Buffer.from(res.getRemoteAddressAsText()).toString(), forwardedFor(req), trust),
    authorization: req.getHeader("authorization"),
    contentType: req.getHeader("content-type"),
    contentLength: len === "" ? undefined : Number(len),
    origin: req.getHeader("origin"),
    accessControlRequestHeaders: req.getHeader("access-control-request-headers"),
    extra: Object.fromEntries(EXTRA_HEADERS.map((h) => [h, req.getHeader(h)])) as RequestHead["extra"],
  };
}

/** Body bytes held for a request whose right to send them is not yet known (about one TCP window). */
export const GATE_HOLD_BYTES = 64 * 1024;

export class Exchange {
  readonly head: RequestHead;
  /** This request's id: the X-Request-Id header, the trace id of its actor calls, in its logs. */
  readonly requestId = newTraceId();
  readonly #res: HttpResponse;
  #done = false;
  #aborted = false;
  readonly #extraHeaders: [string, string][] = [];
  /** Close the TCP connection after this response (a draining node sheds keep-alive clients). */
  closeAfter = false;

  constructor(res: HttpResponse, head: RequestHead) {
    this.#res = res;
    this.head = head;
    res.onAborted(() => {
      this.#aborted = true;
      this.#done = true;
    });
  }

  get finished(): boolean {
    return this.#done;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Headers added to whatever response is sent (CORS, rate-limit info). */
  header(name: string, value: string): this {
    this.#extraHeaders.push([name, value]);
    return this;
  }

  send(status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
    if (this.#done) return;
    this.#done = true;
    this.#res.cork(() => {
      this.#res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ""}`);
      for (const [k, v] of this.#extraHeaders) this.#res.writeHeader(k, v);
      for (const [k, v] of Object.entries(headers)) this.#res.writeHeader(k, v);
      if (this.head.method === "HEAD") this.#res.endWithoutBody(Buffer.byteLength(body), this.closeAfter);
      else this.#res.end(body, this.closeAfter);
    });
  }

  json(status: number, value: unknown, headers: Record<string, string> = {}): void {
    this.send(status, status === 204 ? "" : JSON.stringify(value), { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  }

  /** Reads the body up to `limit` bytes; larger bodies fail with PAYLOAD_TOO_LARGE as soon as
   *  the limit is crossed, without buffering the rest. With a `gate` (the caller's right to send
   *  this body: token, role, ownership), at most GATE_HOLD_BYTES are held and the socket is paused
   *  until the gate opens; a refused gate drops the body and closes the connection after the answer. */
  readBody(limit: number, gate?: Promise<unknown>): Promise<Buffer> {
    if (this.head.contentLength !== undefined && this.head.contentLength > limit) {
      return Promise.reject(new AppError("PAYLOAD_TOO_LARGE", `Body over ${limit} bytes`, { limit }));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let open = gate === undefined;
      let paused = false;
      gate?.then(
        () => {
          open = true;
          if (paused && !this.#done) this.#res.resume();
          paused = false;
        },
        (err: unknown) => {
          size = -1;
          chunks.length = 0;
          this.closeAfter = true; // the rest of the body is not read: this connection is done
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
      this.#res.onData((chunk, isLast) => {
        if (size < 0) return;
        size += chunk.byteLength;
        if (size > limit) {
          size = -1;
          reject(new AppError("PAYLOAD_TOO_LARGE", `Body over ${limit} bytes`, { limit }));
          return;
        }
        chunks.push(Buffer.from(chunk.slice(0))); // the chunk is neutered after this callback
        if (isLast) return resolve(Buffer.concat(chunks));
        if (!open && !paused && size >= GATE_HOLD_BYTES) {
          paused = true;
          this.#res.pause();
        }
      });
    });
  }
}

/** uWS answers `undefined` (not "") when there is no query string, whatever its d.ts says. */
export function rawQuery(req: HttpRequest): string {
  const q = req.getQuery() as string | undefined;
  return q ?? "";
}
