// Entry of the training worker thread: registers tsx (the platform runs TypeScript directly)
// in this thread, then loads the worker itself.
import { register } from "tsx/esm/api";

register();
await import("./train-worker.ts");
