/**
 * The operators' screen: QoE and activity charts, node health, pipeline status, alerts (live on
 * the socket), recent playback errors, users and roles. Refreshes every 5 s. Admins only.
 */
import { errorText } from "../api";
import { useEffect, useState } from "preact/hooks";
import { session } from "../session";
import { socket } from "../socket";
import { Charts } from "./Charts";
import type { Alert, Dashboard } from "./dashboard";
import { Users } from "./Users";

function useDashboard(minutes: number, stream: string): { d: Dashboard | undefined; error: string; updates: number } {
  const [d, setD] = useState<Dashboard>();
  const [error, setError] = useState("");
  const [updates, setUpdates] = useState(0);
  useEffect(() => {
    const q = new URLSearchParams({ minutes: String(minutes), ...(stream ? { stream } : {}) });
    const load = () =>
      session.authed<Dashboard>("GET", `/api/analytics/dashboard?${q.toString()}`).then(
        (r) => (setD(r), setError(""), setUpdates((n) => n + 1)),
        (e: unknown) => setError(errorText(e)),
      );
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [minutes, stream]);
  return { d, error, updates };
}

function useAlerts(initial: Alert[] | undefined): Alert[] {
  const [alerts, setAlerts] = useState<Alert[]>([]);
  useEffect(() => {
    if (initial && !alerts.length) setAlerts(initial);
  }, [initial]);
  useEffect(() => {
    socket.start();
    return socket.onPush((f) => f.t === "alert" && setAlerts((a) => [f.d as Alert, ...a].slice(0, 50)));
  }, []);
  return alerts;
}

function Status({ d, updates }: { d: Dashboard; updates: number }) {
  const s = d.status;
  const views = d.qoe.reduce((n, r) => n + Number(r.views ?? 0), 0);
  const chats = d.engagement.reduce((n, r) => n + Number(r.chats), 0);
  return (
    <dl class="status-grid" data-updates={updates}>
      <div><dt>Store</dt><dd>{`${s.store.kind} (${s.store.dialect}) ${s.store.up ? "up" : "DOWN"}`}</dd></div>
      <div><dt>Backlog</dt><dd>{`${String(s.bus.backlog.pending)} ${s.bus.backlog.unit}`}</dd></div>
      <div><dt>Events stored</dt><dd class="stored">{s.ingest.stored}</dd></div>
      <div><dt>Ingest lag p99</dt><dd>{`${String(s.ingest.lagP99Ms)} ms`}</dd></div>
      <div><dt>Chat messages</dt><dd class="chats">{chats}</dd></div>
      <div><dt>Views</dt><dd>{views}</dd></div>
      <div><dt>Alerts firing</dt><dd>{s.alerts.length}</dd></div>
    </dl>
  );
}

export default function Admin() {
  const [minutes, setMinutes] = useState(30);
  const [stream, setStream] = useState("");
  const { d, error, updates } = useDashboard(minutes, stream);
  const alerts = useAlerts(d?.status.alerts);
  if (session.user?.role !== "admin") return <p class="status">This screen is for admins: log in with an admin account.</p>;
  return (
    <div class="admin">
      <h1>Operations</h1>
      <div class="filters">
        <label>
          Window{" "}
          <select aria-label="Window" value={String(minutes)} onChange={(e) => setMinutes(Number(e.currentTarget.value))}>
            {[15, 30, 60, 180, 1440].map((m) => (
              <option key={m} value={String(m)}>{m < 60 ? `${String(m)} min` : `${String(m / 60)} h`}</option>
            ))}
          </select>
        </label>
        <label>
          Stream{" "}
          <select aria-label="Stream" value={stream} onChange={(e) => setStream(e.currentTarget.value)}>
            <option value="">all</option>
            {(d?.streams ?? []).map((s) => (
              <option key={s} value={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      {error ? <p role="alert" class="status error">{error}</p> : null}
      {d ? <Status d={d} updates={updates} /> : <p class="status" role="status">Loading…</p>}
      <section class="panel" aria-label="Alerts">
        <h2>Alerts</h2>
        <ul class="alerts">
          {alerts.length ? alerts.map((a) => <li key={`${String(a.at)}${a.rule}${a.stream ?? ""}`} class={a.state}>{`${new Date(a.at).toLocaleTimeString()} ${a.state}: ${a.rule} — ${a.metric} ${a.value.toFixed(2)} (threshold ${String(a.threshold)})${a.stream ? ` · ${a.stream}` : ""}`}</li>) : <li class="status">None</li>}
        </ul>
      </section>
      {d ? <Charts d={d} minutes={minutes} /> : null}
      {d?.errors.length ? (
        <section class="panel" aria-label="Recent playback errors">
          <h2>Recent playback errors</h2>
          <table>
            <thead><tr><th>Time</th><th>Stream</th><th>Code</th><th>Fatal</th><th>Device</th><th>Protocol</th></tr></thead>
            <tbody>
              {d.errors.map((e, i) => (
                <tr key={i}><td>{new Date(e.server_ms).toLocaleTimeString()}</td><td>{e.stream_id}</td><td>{e.code}</td><td>{e.fatal ? "yes" : "no"}</td><td>{e.device}</td><td>{e.protocol}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <Users />
    </div>
  );
}
