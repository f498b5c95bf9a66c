/**
 * Moleculer's context tracking lets a stopping service finish its in-flight actions. It also
 * tracks *outgoing remote* calls, and one that times out is never untracked (the timeout
 * rejects the caller's promise while the tracked inner promise, whose pending request transit
 * dropped, never settles). Each timeout then leaks a context, and every later shutdown waits
 * the full shutdown timeout for contexts that will never finish (seen: gateways took 10 s to
 * stop in a rolling restart). A remote call needs no tracking here: the caller's own action
 * (tracked where it runs) or the gateway's drain already waits for it. So calls that go to
 * another node are made with `tracking: false`; local calls keep it.
 */
import type { Middleware, ServiceBroker } from "moleculer";

type CallFn = (action: unknown, params: unknown, opts?: Record<string, unknown>) => Promise<unknown>;

export function RemoteCallsUntracked(): Middleware {
  let broker: ServiceBroker | undefined;
  const isLocal = (b: ServiceBroker, action: string, nodeID: unknown): boolean => {
    if (typeof nodeID === "string") return nodeID === b.nodeID;
    const list = (b.registry as unknown as { actions: { get(n: string): { hasLocal(): boolean } | undefined } }).actions.get(action); // registry internals are untyped in moleculer's d.ts
    return list?.hasLocal() ?? false;
  };
  return {
    name: "RemoteCallsUntracked",
    created(b: ServiceBroker) {
      broker = b;
    },
    call(next: CallFn): CallFn {
      return (action, params, opts = {}) => {
        if (!broker || typeof action !== "string" || opts.tracking !== undefined || isLocal(broker, action, opts.nodeID)) return next(action, params, opts);
        return next(action, params, { ...opts, tracking: false });
      };
    },
  } as unknown as Middleware; // moleculer's Middleware type is a loose union of hook shapes
}
