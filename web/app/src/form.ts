/** A text field of a submitted form ("" when missing or a file). */
export function field(f: FormData, name: string): string {
  const v = f.get(name);
  return typeof v === "string" ? v : "";
}
