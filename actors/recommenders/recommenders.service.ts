/**
 * recommenders actor: personal rows from watch history, interaction and session length.
 *   recommend [guest]   {limit?: 1..100} -> rows: for you, live now for you, because you
 *                       watched X, trending, popular per category (cold start: the last two)
 *   status [admin]      the model version being served
 *   retrain [admin]     train now (also on a schedule)
 * Listens to `recommenders.touch {userId}` (gateways send it when a user's events arrive) to
 * drop that user's cached list, so a new watch changes their next list within seconds.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { AppConfig } from "../../lib/config.js";
import { AppError } from "../../lib/errors.js";
import type { CallMeta } from "../../lib/identity.js";
import { openAnalyticsStore, type AnalyticsStore } from "../../analytics/store.js";
import { RecEngine, type CatalogEntry } from "./engine.js";

export function recommendersService(cfg: AppConfig): ServiceSchema {
  let engine: RecEngine | undefined;
  let store: AnalyticsStore | undefined;
  let timer: NodeJS.Timeout | undefined;
  const ready = (): RecEngine => {
    if (!engine) throw new AppError("UNAVAILABLE", "Recommendations are starting");
    return engine;
  };

  return {
    name: "recommenders",
    actions: {
      recommend: {
        access: "guest",
        params: { limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true } },
        async handler(ctx: Context<{ limit?: number }, CallMeta>) {
          const caller = ctx.meta.caller;
          if (caller?.kind !== "user") throw new AppError("UNAUTHENTICATED", "A token is required");
          const catalog = await ctx.call<CatalogEntry[]>("streams.catalog");
          return ready().recommend(caller.principal.userId, catalog, ctx.params.limit ?? 20);
        },
      },
      status: { access: "admin", handler: () => ready().version ?? { version: 0 } },
      retrain: {
        access: "admin",
        timeout: 0,
        async handler(ctx: Context) {
          await ready().train(await ctx.call<CatalogEntry[]>("streams.catalog"));
          return ready().version ?? { version: 0 };
        },
      },
    },
    events: {
      "recommenders.touch": { handler: (ctx: Context<{ userId: string }>) => engine?.touch(ctx.params.userId) },
    },
    async started() {
      store = await openAnalyticsStore(cfg);
      engine = new RecEngine(cfg, store, this.logger);
      const train = () =>
        void this.broker
          .call<CatalogEntry[]>("streams.catalog")
          .then((c) => engine?.train(c))
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
    },
  };
}
