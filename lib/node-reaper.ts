/**
 * Taking a node found dead out of this broker's registry at once (event `rooms.nodeDead`, from the
 * rooms actors' store-based liveness: actors/rooms/liveness.ts), instead of after Moleculer's
 * heartbeat timeout: its services leave the balancer and calls waiting on it are rejected now
 * (their callers retry elsewhere). A node wrongly found dead announces itself again with its next
 * heartbeat, and Moleculer rediscovers it.
 */
import type { ServiceBroker } from "moleculer";

/** What this needs of Moleculer's registry (`registry.nodes` is missing from its typings). */
interface NodeCatalog {
  get(nodeID: string): { available: boolean } | undefined;
  disconnected(nodeID: string, isUnexpected: boolean): void;
}

export function reapNode(broker: ServiceBroker, nodeID: string): void {
  if (nodeID === broker.nodeID) return; // never ourselves: we are evidently alive
  const nodes = (broker.registry as unknown as { nodes: NodeCatalog }).nodes;
  if (!nodes.get(nodeID)?.available) return;
  broker.logger.warn(`node ${nodeID} stopped beating: taken out of this node's registry until it is heard again`);
  nodes.disconnected(nodeID, true);
}
