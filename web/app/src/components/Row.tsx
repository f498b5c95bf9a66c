import type { StreamCard } from "../api";
import { Card } from "./Card";

type Item = Pick<StreamCard, "id" | "title" | "kind" | "category" | "durationSec" | "ownerName">;

/** A titled row of cards; `wrap` lays them out as a grid (search results) instead of one scrolling line. */
export function Row({ title, items, onHide, wrap }: { title: string; items: Item[]; onHide?: (item: Item) => void; wrap?: boolean }) {
  if (items.length === 0) return null;
  return (
    <section class="row" aria-label={title}>
      <h2>{title}</h2>
      <div class={wrap ? "row-items grid" : "row-items"}>
        {items.map((i) => (
          <Card key={i.id} item={i} {...(onHide ? { onHide } : {})} />
        ))}
      </div>
    </section>
  );
}
