/**
 * The client's IP address, which every per-IP limit keys on. Without a trusted proxy it is the
 * socket's peer. Behind proxies, `X-Forwarded-For` is read from the right: each proxy appends the
 * address it received from, so the right-most hop that is not one of our own proxies is the
 * client. The left-most values are whatever the client wrote and are never believed.
 */
import { BlockList, isIP } from "node:net";

export interface ProxyTrust {
  /** Believe X-Forwarded-For at all (gateway.trustProxy). */
  enabled: boolean;
  /** Our proxies (gateway.trustedProxies: IPs and CIDRs). Empty with `enabled` = the socket's peer
   *  is our one proxy, and the right-most forwarded hop is the client. */
  proxies: BlockList | undefined;
}

/** Parses gateway.trustedProxies ("10.0.0.0/8", "192.0.2.7", "::1"); throws on a bad entry. */
export function proxyTrust(enabled: boolean, list: readonly string[]): ProxyTrust {
  if (list.length === 0) return { enabled, proxies: undefined };
  const proxies = new BlockList();
  for (const entry of list) {
    const [addr = "", bits] = entry.split("/");
    const family = isIP(addr);
    if (family === 0) throw new Error(`trusted proxy "${entry}" is not an IP address or CIDR`);
    const type = family === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) proxies.addAddress(addr, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) throw new Error(`trusted proxy "${entry}": bad prefix length`);
      proxies.addSubnet(addr, prefix, type);
    }
  }
  return { enabled, proxies };
}

function trusted(trust: ProxyTrust, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  // No list: only the socket's peer is trusted (checked by the caller), no forwarded hop.
  return trust.proxies?.check(ip, family === 6 ? "ipv6" : "ipv4") ?? false;
}

/** Every X-Forwarded-For line of a request, joined: a proxy may add its own line after the
 *  client's (HAProxy `option forwardfor`), and uWS's getHeader answers only the first. */
export function forwardedFor(req: { forEach(cb: (key: string, value: string) => void): void }): string {
  const lines: string[] = [];
  req.forEach((key, value) => {
    if (key === "x-forwarded-for") lines.push(value);
  });
  return lines.join(", ");
}

/** The client's address for a request from socket peer `peer` carrying `forwardedFor`. */
export function clientIp(peer: string, forwardedFor: string, trust: ProxyTrust): string {
  if (!trust.enabled || forwardedFor === "") return peer;
  if (trust.proxies && !trusted(trust, peer)) return peer; // not from our proxy: the header is the client's own
  const hops = forwardedFor.split(",").map((h) => h.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? "";
    if (isIP(hop) === 0) return peer; // garbage where an address should be: believe only the socket
    if (!trust.proxies || !trusted(trust, hop)) return hop;
  }
  return peer; // every hop is one of ours
}
