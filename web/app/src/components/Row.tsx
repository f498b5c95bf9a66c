import type { StreamCard } from "../api";
import { Card } from "./Card";

type Item = Pick<StreamCard, "id" | "title" | "kind" | "category" | "durationSec">;

export function Row({ title, items, onHide }: { title: string; items: Item[]; onHide?: (item: Item) => void }) {
  if (items.length === 0) return null;
  return (
    <section class="row" aria-label={title}>
      <h2>{title}</h2>
      <div class="row-items">
        {items.map((i) => (
          <Card key={i.id} item={i} {...(onHide ? { onHide } : {})} />
        ))}
      </div>
    </section>
  );
}
