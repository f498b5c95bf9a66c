import { NatsServer } from "../test/harness/nats.js";
import { storeContract } from "./store.contract.js";
import { JetStreamStore } from "./store-jetstream.js";

let nats: NatsServer | undefined;
storeContract(
  "jetstream (real nats-server)",
  async () => {
    nats = await NatsServer.start();
    return JetStreamStore.open({ servers: nats.url, namespace: "t", replicas: 1 });
  },
  async () => nats?.dispose(),
);
