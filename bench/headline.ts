/**
 * A search's headline: the highest step such that it and every lower step passed. A step that
 * passes after a failed one is luck on a noisy machine, not capacity: it is shown, never the
 * headline.
 */
export function headlineOf<T>(steps: readonly T[], pass: (s: T) => boolean): T | undefined {
  let best: T | undefined;
  for (const s of steps) {
    if (!pass(s)) break;
    best = s;
  }
  return best;
}

/** The steps that passed after a failure (printed as such). */
export function luckyAfterFailure<T>(steps: readonly T[], pass: (s: T) => boolean): T[] {
  const first = steps.findIndex((s) => !pass(s));
  return first < 0 ? [] : steps.slice(first + 1).filter(pass);
}
