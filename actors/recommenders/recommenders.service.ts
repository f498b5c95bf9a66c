/**
 * recommenders actor: personal rows from watch history, interaction and session length.
 *   recommend [guest]   {limit?: 1..100, user? (admin: someone else's)} -> rows, each with its `why`: continue
 *                       watching, following, for you, live now for you, because you watched X, trending,
 *                       popular per category (cold start: the last two, and the first two once there is history)
 *   resume [guest]      {id} -> {positionSec|null}: where the caller left off in a video (their own events)
 *   status [admin]      the model version being served
 *   retrain [admin]     train now (also on a schedule)
 * Listens to `recommenders.touch {userId}` (gateways send it when a user's events arrive) to
 * drop that user's cached list, so a new watch changes their next list within seconds.
 * One trainer (recs.trainer) per cluster: it publishes each version to the NATS object store
 * and announces it (`recommenders.model`); every other recommenders node fetches and serves it.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { openAnalyticsStore, type AnalyticsStore } from "../../analytics/store.js";
import path from "node:path";
import { RecEngine, type CatalogEntry } from "./engine.js";
import type { FollowedCreator } from "./rows.js";
import { FileModelStore, ObjectModelStore, type ModelStore } from "./model-store.js";
import { ID_SCHEMA } from "../../protocol/ids.js";

export function recommendersService(cfg: AppConfig): ServiceSchema {
  let engine: RecEngine | undefined;
  let store: AnalyticsStore | undefined;
  let timer: NodeJS.Timeout | undefined;
  let shared: ModelStore | undefined;
  const ready = (): RecEngine => {
    if (!engine) throw new AppError("UNAVAILABLE", "Recommendations are starting");
    return engine;
  };

  return {
    name: "recommenders",
    actions: {
      recommend: {
        access: "guest",
        params: {
          limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
          // Admins may look at someone else's list (support, debugging).
          user: { ...ID_SCHEMA, optional: true },
        },
        async handler(this: Service, ctx: Context<{ limit?: number; user?: string }, CallMeta>) {
          const caller = ctx.meta.caller;
          if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
          let userId = caller.principal.userId;
          if (ctx.params.user !== undefined && ctx.params.user !== userId) {
            if (caller.principal.role !== "admin") throw new AppError("FORBIDDEN", "Only admins may ask for another user's recommendations");
            const users = await ctx.call<{ id: string }[], object>("sessions.listUsers", {}, { meta: ctx.meta });
            if (!users.some((u) => u.id === ctx.params.user)) throw new AppError("NOT_FOUND", `No such user: ${ctx.params.user}`);
            userId = ctx.params.user;
          }
          const catalog = await ctx.call<CatalogEntry[]>("streams.catalog");
          // Whom they follow (the Following row, and a signal for the rest); a guest follows nobody.
          const follows = caller.principal.guest ? [] : await ctx.call<FollowedCreator[], { userId: string }>("sessions.followedIds", { userId }).catch((err: unknown) => {
            this.logger.warn(`recommenders: follows of ${userId} unavailable: ${String(err)}`);
            return [];
          });
          return ready().recommend(userId, catalog, ctx.params.limit ?? 20, follows);
        },
      },
      resume: {
        access: "guest",
        params: { id: ID_SCHEMA },
        async handler(ctx: Context<{ id: string }, CallMeta>) {
          const caller = ctx.meta.caller;
          if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
          // Only a video this caller may see (a private one is NOT_FOUND to the rest).
          const s = await ctx.call<CatalogEntry, { id: string }>("streams.get", { id: ctx.params.id });
          if (s.kind !== "vod") return { positionSec: null };
          const at = await ready().resume(caller.principal.userId, s.id, s.durationSec);
          return { positionSec: at === undefined ? null : Math.round(at / 100) / 10 };
        },
      },
      status: {
        access: "admin",
        handler(this: { broker: { nodeID: string } }) {
          return { version: 0, ...ready().version, node: this.broker.nodeID, trainer: cfg.recs.trainer };
        },
      },
      retrain: {
        access: "admin",
        timeout: 0,
        async handler(ctx: Context) {
          if (!cfg.recs.trainer) throw new AppError("CONFLICT", "This node only scores: retrain on the trainer node");
          await ready().train(await ctx.call<CatalogEntry[]>("streams.catalog"));
          await ctx.broadcast("recommenders.model", { version: ready().version?.version ?? 0 });
          return ready().version ?? { version: 0 };
        },
      },
    },
    events: {
      "recommenders.touch": { handler: (ctx: Context<{ userId: string }>) => engine?.touch(ctx.params.userId) },
      // The trainer published a version: scorers fetch it from the object store.
      "recommenders.model": {
        handler(ctx: Context<{ version: number }>) {
          if (ctx.params.version > (engine?.version?.version ?? 0)) void engine?.loadLatest().catch((err: unknown) => this.logger.warn(`recommenders: cannot load model: ${String(err)}`));
        },
      },
    },
    async started() {
      store = await openAnalyticsStore(cfg);
      shared = cfg.natsUrl ? await ObjectModelStore.open(cfg.natsUrl, cfg.namespace, cfg.storeReplicas) : undefined;
      engine = new RecEngine(cfg, store, { local: new FileModelStore(path.join(cfg.dataDir, "models"), cfg.recs.keepVersions), shared }, this.logger);
      await engine.loadLatest().catch((err: unknown) => this.logger.warn(`recommenders: no saved model (${String(err)})`));
      if (!cfg.recs.trainer) return this.logger.info("recommenders: scorer only (recs.trainer = false)");
      const train = () =>
        void this.broker
          .call<CatalogEntry[]>("streams.catalog")
          .then((c) => engine?.train(c))
          .then(() => this.broker.broadcast("recommenders.model", { version: engine?.version?.version ?? 0 }))
          .catch((err: unknown) => this.logger.warn(`recommenders: training failed: ${String(err)}`));
      const first = setTimeout(() => {
        train();
        timer = setInterval(train, cfg.recs.retrainMs);
        timer.unref();
      }, cfg.recs.firstTrainMs);
      first.unref();
    },
    async stopped() {
      clearInterval(timer);
      await store?.close();
      await shared?.close();
    },
  };
}
