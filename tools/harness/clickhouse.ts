/**
 * A real ClickHouse server (Debian's clickhouse-server, 18.16 on bookworm) on free loopback
 * ports, with its own config and data in a scratch directory. `available()` says whether this
 * machine has one (Debian 13 does not package it: tests then say loudly that they skipped).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, waitFor } from "./ports.js";

const BIN = process.env.CLICKHOUSE_SERVER_BIN ?? "clickhouse-server";

export class ClickhouseServer {
  readonly url: string;
  readonly #dir: string;
  #proc: ChildProcess | undefined;
  output = "";

  private constructor(dir: string, httpPort: number) {
    this.#dir = dir;
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  static available(): boolean {
    return spawnSync("sh", ["-c", `command -v ${BIN} || test -x /usr/sbin/${BIN}`], { stdio: "ignore" }).status === 0;
  }

  static async start(): Promise<ClickhouseServer> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-ch-"));
    const [http, tcp] = [await freePort(), await freePort()];
    const srv = new ClickhouseServer(dir, http);
    writeFileSync(path.join(dir, "users.xml"), USERS);
    writeFileSync(path.join(dir, "config.xml"), config(dir, http, tcp));
    await srv.restart();
    return srv;
  }

  /** Starts (again) on the same ports and data: what was stored survives. */
  async restart(): Promise<void> {
    this.#proc = spawn(BIN, [`--config-file=${path.join(this.#dir, "config.xml")}`], { stdio: ["ignore", "pipe", "pipe"] });
    this.#proc.stdout?.on("data", (c: Buffer) => (this.output += c.toString()));
    this.#proc.stderr?.on("data", (c: Buffer) => (this.output += c.toString()));
    await waitFor("clickhouse-server to answer", () => fetch(`${this.url}/ping`).then((r) => r.ok || undefined, () => undefined), 60_000, 200);
  }

  /** Stops the server (SIGKILL by default: an outage, not a maintenance window). */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill(signal);
    await gone;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

const config = (dir: string, http: number, tcp: number) => `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/data/tmp/</tmp_path>
  <user_files_path>${dir}/data/user_files/</user_files_path>
  <format_schema_path>${dir}/data/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
`;

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;
