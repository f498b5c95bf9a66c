/**
 * Echostreamhub's web app (served at /app/): one shell for viewers, creators and admins, on
 * phones, tablets, desktops and TVs (`?tv=1`: arrow keys and Enter). Home is built here; the
 * watch, studio and admin screens still open the existing pages.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Home } from "./pages/Home";
import { useRoute } from "./router";
import { session } from "./session";
import { enableSpatialNavigation, tvMode } from "./tv";
import "./styles.css";

/** Re-renders the caller when the user logs in or out, or a guest token arrives. */
function useSession(): void {
  const [, redraw] = useState(0);
  useEffect(() => session.on(() => redraw((n) => n + 1)), []);
}

function Account() {
  useSession();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState("");
  if (session.loggedIn) {
    return (
      <div class="account">
        <span>{session.user?.displayName}</span>
        <button type="button" onClick={() => void session.logout()}>Log out</button>
      </div>
    );
  }
  if (!open) return <button type="button" class="account" onClick={() => setOpen(true)}>Log in</button>;
  return (
    <form
      class="login"
      aria-label="Log in"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const field = (n: string) => (f.get(n) as string | null) ?? "";
        session.login(field("username"), field("password")).then(() => setOpen(false), (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
      }}
    >
      <input name="username" autocomplete="username" aria-label="Username" required />
      <input name="password" type="password" autocomplete="current-password" aria-label="Password" required />
      <button type="submit">Log in</button>
      {error ? <span role="alert">{error}</span> : null}
    </form>
  );
}

function App() {
  useSession();
  const { path, query } = useRoute();
  const role = session.user?.role;
  return (
    <>
      <header class="top">
        <a class="brand" href="/app/">Echostreamhub</a>
        <nav class="main-nav" aria-label="Main">
          <a href="/app/">Home</a>
          {role === "creator" || role === "admin" ? <a href="/broadcast.html">Go live</a> : null}
          {role === "creator" || role === "admin" ? <a href="/upload.html">Upload</a> : null}
          {role === "admin" ? <a href="/admin.html">Admin</a> : null}
        </nav>
        <Account />
      </header>
      <main id="main">{path === "/" ? <Home query={query.get("q") ?? ""} category={query.get("category") ?? ""} /> : <p class="status">No such page.</p>}</main>
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  if (tvMode()) {
    document.documentElement.classList.add("tv");
    enableSpatialNavigation(document.body);
  }
  render(<App />, root);
  void session.token();
}
