/** The shape of GET /api/analytics/dashboard (analytics actor) and its conversion to chart series. */
export interface Dashboard {
  qoe: { minute: string; startup_ms: [number, number]; rebuffer_pct: number; failure_pct: number; ebvs_pct: number; avg_bitrate_kbps: number; switches_per_view: number; errors: number; views?: number | string }[];
  engagement: { minute: string; viewers: number; chats: number | string; reactions: number }[];
  health: { minute: string; node: string; cpu_pct: number; connections: number }[];
  errors: { server_ms: number; stream_id: string; code: string; fatal: number | boolean; device: string; protocol: string }[];
  streams: string[];
  status: {
    store: { kind: string; dialect: string; up: boolean };
    bus: { backlog: { pending: number; unit: string; bytes: number } };
    ingest: { stored: number; lagP99Ms: number };
    alerts: Alert[];
  };
}

export interface Alert {
  at: number;
  state: string;
  rule: string;
  metric: string;
  value: number;
  threshold: number;
  stream?: string;
}

export const secs = (minute: string): number => Date.parse(`${minute.replace(" ", "T")}Z`) / 1000;

/** Per-node series on a shared, sorted time axis (missing minutes are gaps). */
export function perNode(health: Dashboard["health"], key: "cpu_pct" | "connections"): { nodes: string[]; x: number[]; ys: (number | null)[][] } {
  const nodes = [...new Set(health.map((r) => r.node))].sort();
  const x = [...new Set(health.map((r) => secs(r.minute)))].sort((a, b) => a - b);
  const at = new Map(health.map((r) => [`${r.node}@${String(secs(r.minute))}`, r[key]]));
  return { nodes, x, ys: nodes.map((n) => x.map((t) => at.get(`${n}@${String(t)}`) ?? null)) };
}
