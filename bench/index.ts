/**
 * `npm run bench -- <suite> [options]`: load tests that print figures next to their baseline
 * from the same run. Suites:
 *   rpc    WebSocket request/answer: ws baseline vs our gateway vs actors embedded vs over NATS
 *   fanout room fan-out: our gateway vs raw uWS publish vs ws vs Socket.IO, unbatched and batched
 *   webrtc SFU forwarding: real WebRTC viewers per worker at 0% loss (PlainTransport beside), latency the SFU adds
 *   transcode  the VOD ladder in one ffmpeg process vs one process per rendition
 *   hls    segments/s from our gateway and an edge vs node:http; VOD startup in Chromium
 *   ingest analytics events/s end to end (client -> gateway -> chdb) vs direct bulk inserts
 *   recs   top-20 scoring latency over 100k items (vs TF.js matMul+topk); training time per epoch
 *   broadcast  glass-to-glass from an RTMP encoder vs the browser studio; RTMP ingests per core
 *   storage    media objects in a local directory vs the NATS object store: segments/s, a 1 GiB
 *              upload with resumes, live HLS latency
 *   storm  a gateway killed under its clients: time until all are back in the room on the other, joins/s
 *   notify "a creator you follow went live": pushed over the WebSocket vs polling, followers x latency
 *   search catalog search over 100k streams: the streams actor's index vs scanning the catalog
 *   conns  connections one gateway process holds up to the descriptor limit, bytes per connection (vs raw uWS)
 */
import { fanoutBench } from "./fanout.js";
import { rpcBench } from "./rpc.js";
import { webrtcBench } from "./webrtc.js";
import { transcodeBench } from "./transcode.js";
import { hlsBench } from "./hls.js";
import { ingestBench } from "./ingest.js";
import { recsBench } from "./recs.js";
import { broadcastBench } from "./broadcast.js";
import { storageBench } from "./storage.js";
import { connsBench } from "./conns.js";
import { searchBench } from "./search.js";
import { notifyBench } from "./notify.js";
import { stormBench } from "./storm.js";
import { machineLine, runMachine } from "./machine.js";

const SUITES: Record<string, (argv: string[]) => Promise<void>> = { rpc: rpcBench, fanout: fanoutBench, webrtc: webrtcBench, transcode: transcodeBench, hls: hlsBench, ingest: ingestBench, recs: recsBench, broadcast: broadcastBench, storage: storageBench, conns: connsBench, search: searchBench, notify: notifyBench, storm: stormBench };

const [suite, ...rest] = process.argv.slice(2);
const run = suite ? SUITES[suite] : undefined;
if (!run) {
  console.error(`usage: npm run bench -- <suite> [options]\nsuites: ${Object.keys(SUITES).join(", ")}`);
  process.exit(2);
}
console.log(`[${suite ?? "bench"}] ${machineLine(runMachine())}`);
await run(rest);
process.exit(0);
