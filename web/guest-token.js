// The visitor's token for pages anyone may use (watch, home): the one kept in this tab while it
// has 30 s left, else a fresh guest token.
export async function token() {
  const saved = sessionStorage.getItem("esh.token");
  if (saved && JSON.parse(atob(saved.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp > Date.now() / 1000 + 30) return saved;
  const res = await fetch("/api/auth/guest", { method: "POST" });
  const t = (await res.json()).accessToken;
  sessionStorage.setItem("esh.token", t);
  return t;
}
