import type { StreamCard } from "../api";
import { Card } from "./Card";

export function Row({ title, items }: { title: string; items: Pick<StreamCard, "id" | "title" | "kind" | "category">[] }) {
  if (items.length === 0) return null;
  return (
    <section class="row" aria-label={title}>
      <h2>{title}</h2>
      <div class="row-items">
        {items.map((i) => (
          <Card key={i.id} item={i} />
        ))}
      </div>
    </section>
  );
}
