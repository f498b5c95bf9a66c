/**
 * Echostreamhub's web app (served at /app/): one shell for viewers, creators and admins, on
 * phones, tablets, desktops and TVs (`?tv=1`: arrow keys and Enter). Routes: / (home), /watch/<id>,
 * /studio (creators), /admin (admins). The studio and admin screens, and the players, are their
 * own chunks, loaded when opened: the home page's first load stays small.
 */
import { errorText } from "./api";
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { lazy } from "./lazy";
import { Home } from "./pages/Home";
import { Watch } from "./pages/Watch";
import { Notifications } from "./components/Notifications";
import { href, interceptLinks, useRoute } from "./router";
import { session } from "./session";
import { useExternal } from "./external";
import { enableSpatialNavigation, tvMode } from "./tv";
import "./styles.css";
import { isId } from "../../../protocol/ids";

/** Re-renders the caller when the user logs in or out, or a guest token arrives. */
function useSession(): void {
  useExternal((changed) => session.on(changed), () => session.version);
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
        session.login(field("username"), field("password")).then(() => setOpen(false), (err: unknown) => setError(errorText(err)));
      }}
    >
      <input name="username" autocomplete="username" aria-label="Username" required />
      <input name="password" type="password" autocomplete="current-password" aria-label="Password" required />
      <button type="submit">Log in</button>
      {error ? <span role="alert">{error}</span> : null}
    </form>
  );
}

const Studio = lazy(() => import("./studio/Studio"));
const Admin = lazy(() => import("./admin/Admin"));

function Screen({ path, query }: { path: string; query: URLSearchParams }) {
  if (path === "/") return <Home query={query.get("q") ?? ""} category={query.get("category") ?? ""} />;
  const watch = /^\/watch\/([^/]+)$/.exec(path);
  if (watch?.[1] && isId(watch[1])) return <Watch key={watch[1]} id={watch[1]} mode={query.get("mode") ?? ""} bufferSec={Number(query.get("buffer")) || undefined} />;
  if (path === "/studio") return <Studio />;
  if (path === "/admin") return <Admin />;
  return <p class="status">No such page.</p>;
}

/**
 * After a navigation (not the first load), focus moves to the new screen's heading, so a screen
 * reader announces the screen and a TV remote starts from its top. A heading that arrives with
 * the screen's data (a video's title) is waited for, briefly.
 */
function useFocusHeadingOnNavigation(path: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    let tries = 0;
    const was = document.activeElement;
    const timer = setInterval(() => {
      const h = document.querySelector<HTMLElement>("main h1");
      if (!h && ++tries < 30) return;
      clearInterval(timer);
      // Never taken back from the user: only while focus is where the navigation left it.
      const now = document.activeElement;
      if (!h || (now !== was && now !== document.body && now !== null && document.contains(now))) return;
      h.tabIndex = -1;
      h.focus();
    }, 100);
    return () => clearInterval(timer);
  }, [path]);
}

function App() {
  useSession();
  const { path, query } = useRoute();
  useFocusHeadingOnNavigation(path);
  const role = session.user?.role;
  return (
    <>
      <header class="top">
        <a class="brand" href="/app/">Echostreamhub</a>
        <nav class="main-nav" aria-label="Main">
          <a href={href("/")}>Home</a>
          {role === "creator" || role === "admin" ? <a href={href("/studio")}>Studio</a> : null}
          {role === "admin" ? <a href={href("/admin")}>Admin</a> : null}
        </nav>
        <Account />
      </header>
      <main id="main">
        <Screen path={path} query={query} />
      </main>
      <Notifications />
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  if (tvMode()) {
    document.documentElement.classList.add("tv");
    enableSpatialNavigation(document.body);
  }
  interceptLinks(document.body);
  render(<App />, root);
  void session.restore();
}
