import type { StreamCard } from "../api";
import { Card } from "./Card";

type Item = Pick<StreamCard, "id" | "title" | "kind" | "category" | "durationSec" | "ownerName" | "viewers"> & { resumeSec?: number };

/** A titled row of cards, with why it holds them; `wrap` lays them out as a grid (search results)
 *  instead of one scrolling line. */
export function Row({ title, items, onHide, wrap, why }: { title: string; items: Item[]; onHide?: (item: Item) => void; wrap?: boolean; why?: string }) {
  if (items.length === 0) return null;
  return (
    <section class="row" aria-label={title}>
      <h2>{title}</h2>
      {why ? <p class="row-why">{why}</p> : null}
      <div class={wrap ? "row-items grid" : "row-items"}>
        {items.map((i) => (
          <Card key={i.id} item={i} {...(onHide ? { onHide } : {})} />
        ))}
      </div>
    </section>
  );
}
