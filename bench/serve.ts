/**
 * Serving benchmark (issue F4): `streamflow serve` (built CLI, its own process) under autocannon
 * in this process, on real PostgreSQL and on embedded PGlite, set up the way a user would (ingest
 * two months, materialize, train the 300-tree model, promote). Anchor: Fastify's hello world in
 * its own process, measured right before the service with the same autocannon settings.
 * Goals: POST /predict saturation >= 0.3x the hello world's req/s; p99 <= 5 ms with 0 errors at
 * 1,000 req/s; POST /predict/batch of 1,000 ids p50 <= 20 ms. Figures are reported, not asserted.
 * The 1,000 req/s goal is measured twice: with autocannon's rate limit (bursts at the start of each
 * second) and evenly paced, open loop (bench/serve-paced.ts), since the two can disagree widely.
 * Also reported: the server's CPU time per request and RSS (/proc), the load generator's CPU time
 * (it shares the cores), and the service's own latency and lookup histograms (GET /metrics).
 * Last, on a second server with the feature cache off, GET /health p99 while 1,000-id batches
 * arrive back to back (bench/serve-responsive.ts; goal ≤ 20 ms), against /health idle.
 *
 * Writes bench/out/serve.json.
 *
 * Flags: --quick (3 s phases, a smoke run), --engine=postgres|pglite (default both),
 * --cache-ttl-s=N (the service's --feature-cache-ttl-s; 0 reads the database on every request),
 * --cli=PATH (another build's packages/cli/dist/bin.mjs, to compare commits on the same machine).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { mulberry32 } from "./forest-synth.ts";
import { load, type LoadResult } from "./serve-load.ts";
import {
  serverSide,
  type ServerSide,
  type ServerSideProbe,
} from "./serve-metrics.ts";
import { paced } from "./serve-paced.ts";
import {
  describeRound,
  HEALTH_RATE,
  measureResponsiveness,
  summarizeRounds,
  type ResponsivenessRound,
} from "./serve-responsive.ts";
import {
  startServer,
  type Memory,
  type ServerProcess,
} from "./serve-process.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The CLI that sets up and serves; `--cli=PATH` measures another build (an older commit's, say). */
let CLI = join(ROOT, "packages/cli/dist/bin.mjs");
const HELLO = join(ROOT, "bench/serve-hello.ts");
const ADMIN_URL =
  process.env["STREAMFLOW_TEST_DATABASE_URL"] ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const LAB =
  process.env["STREAMFLOW_LAB_DATA"] ?? join(ROOT, "../shared/data/streamflow");
const USERS = 7043;
const MONTHS = [
  ["month_000", "2024-01-31"],
  ["month_001", "2024-02-29"],
] as const;

const ENGINES = ["postgres", "pglite"] as const;
type Engine = (typeof ENGINES)[number];
const ENGINE_NAME: Record<Engine, string> = {
  postgres: "PostgreSQL",
  pglite: "PGlite",
};

interface Durations {
  warmup: number;
  saturation: number;
  fixedRate: number;
  paced: number;
  batch: number;
  /** Each of the responsiveness phase's runs (idle, then under batch load). */
  responsive: number;
  responsiveRounds: number;
}
const FULL: Durations = {
  warmup: 3,
  saturation: 12,
  fixedRate: 30,
  paced: 15,
  batch: 10,
  responsive: 8,
  responsiveRounds: 3,
};
const QUICK: Durations = {
  warmup: 1,
  saturation: 3,
  fixedRate: 3,
  paced: 3,
  batch: 3,
  responsive: 3,
  responsiveRounds: 2,
};

const CONNECTIONS = 10;
const FIXED_RATE = 1000;
const BATCH_SIZE = 1000;
/** Request bodies (random ids) built per connection before the clock starts, then cycled. */
const BODIES_PER_CONNECTION = 500;

interface Phase {
  what: string;
  result: LoadResult;
  /** Server CPU time per 2xx response, µs. */
  cpuMicrosPerRequest: number | undefined;
  /** This process's (the load generator's) CPU time per response, µs: it shares the cores. */
  loadCpuMicrosPerRequest: number;
  memory: Memory | undefined;
  serverSide: ServerSide | undefined;
}

interface EngineResult {
  engine: Engine;
  setupSeconds: Record<string, number>;
  server: Record<string, unknown>;
  anchor: Phase;
  saturation: Phase;
  fixedRate: Phase;
  paced: Phase;
  batch: Phase;
  /** /health idle and under batch load, on a server without the feature cache. */
  responsive: ResponsivenessRound[];
  idleMemory: Memory | undefined;
  peakMemory: Memory | undefined;
  exit: string;
  /** The server's warn+ log lines (JSON), if any. */
  log: string[];
}

const JSON_HEADERS = { "content-type": "application/json" };

function predictRequests(
  ids: readonly string[],
  random: () => number,
): () => autocannon.Request[] {
  return () =>
    Array.from({ length: BODIES_PER_CONNECTION }, () => ({
      method: "POST",
      path: "/predict",
      headers: JSON_HEADERS,
      body: JSON.stringify({
        user_id: ids[Math.floor(random() * ids.length)],
      }),
    }));
}

/** Distinct ids: a partial Fisher–Yates shuffle. */
function sample(
  ids: readonly string[],
  n: number,
  random: () => number,
): string[] {
  const pool = [...ids];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

function batchRequests(
  ids: readonly string[],
  random: () => number,
): () => autocannon.Request[] {
  return () =>
    Array.from({ length: 16 }, () => ({
      method: "POST",
      path: "/predict/batch",
      headers: JSON_HEADERS,
      body: JSON.stringify({ user_ids: sample(ids, BATCH_SIZE, random) }),
    }));
}

const helloRequests = (): autocannon.Request[] => [
  { method: "GET", path: "/" },
];

/** A clean environment for the children: no inherited tracking server, token or database. */
function childEnv(
  overrides: Record<string, string | undefined>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [
    "MLFLOW_TRACKING_URI",
    "STREAMFLOW_API_TOKEN",
    "STREAMFLOW_DATABASE_URL",
    "STREAMFLOW_HOME",
  ])
    delete env[key];
  for (const [key, value] of Object.entries(overrides))
    if (value !== undefined) env[key] = value;
  return env;
}

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; stdout: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args, "--json"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) =>
    child.on("close", resolve),
  );
  if (code !== 0)
    throw new Error(
      `streamflow ${args.join(" ")} exited ${code}:\n${stdout}${stderr}`,
    );
  return { seconds: (performance.now() - started) / 1000, stdout };
}

function psql(url: string, sql: string): void {
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The lab's two months, or synthetic ones of the same size when the lab data is absent. */
async function dataDir(work: string): Promise<{ dir: string; what: string }> {
  if (MONTHS.every(([m]) => existsSync(join(LAB, m, "users.csv"))))
    return { dir: LAB, what: `lab data (${LAB})` };
  const dir = join(work, "synthetic");
  await cli(
    ["generate-data", "--users", String(USERS), "--months", "2", "--out", dir],
    childEnv({ STREAMFLOW_HOME: join(work, "generate-home") }),
  );
  return {
    dir,
    what: `synthetic data, ${USERS} users (no lab data in ${LAB})`,
  };
}

async function userIds(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, "month_001", "users.csv"), "utf8");
  return text
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.slice(0, line.indexOf(",")));
}

/** Ingest both months, materialize, train (300 trees), promote: what a user does before serving. */
async function setUp(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  for (const [month, asOf] of MONTHS) {
    seconds[`ingest ${month}`] = (
      await cli(
        ["ingest", "--month-dir", join(dir, month), "--as-of", asOf],
        env,
      )
    ).seconds;
  }
  seconds["materialize"] = (
    await cli(["materialize", "--as-of", "2024-02-29"], env)
  ).seconds;
  const train = await cli(["train", "--as-of", "2024-01-31"], env);
  seconds["train"] = train.seconds;
  const trees = (
    JSON.parse(train.stdout) as { params: { n_estimators: number } }
  ).params.n_estimators;
  if (trees !== 300)
    console.log(`  note: the model has ${trees} trees, not 300`);
  seconds["promote"] = (
    await cli(["promote", "--latest", "--stage", "Production"], env)
  ).seconds;
  return seconds;
}

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown>,
  };
}

/** Fails early, with the server's answer, if the service does not predict what we will load it with. */
async function sanityCheck(url: string, ids: readonly string[]): Promise<void> {
  const one = await post(`${url}/predict`, { user_id: ids[0] });
  if (one.status !== 200 || typeof one.json["churn_probability"] !== "number")
    throw new Error(
      `POST /predict answered ${one.status}: ${JSON.stringify(one.json)}`,
    );
  const batch = await post(`${url}/predict/batch`, {
    user_ids: ids.slice(0, BATCH_SIZE),
  });
  if (batch.status !== 200 || batch.json["predicted"] !== BATCH_SIZE)
    throw new Error(
      `POST /predict/batch answered ${batch.status}, predicted ${String(batch.json["predicted"])} of ${BATCH_SIZE}`,
    );
}

/**
 * One measured load, with the server's CPU time and memory around it and, given a probe, the
 * service's own latency histograms.
 */
async function phase(
  server: ServerProcess,
  what: string,
  drive: () => Promise<LoadResult>,
  probe?: ServerSideProbe,
): Promise<Phase> {
  const cpuBefore = server.cpuSeconds();
  const loadCpu = process.cpuUsage();
  const measured =
    probe === undefined
      ? { result: await drive(), serverSide: undefined }
      : await serverSide(server.url, probe, drive);
  const { result } = measured;
  const loadCpuUsed = process.cpuUsage(loadCpu);
  const cpuAfter = server.cpuSeconds();
  const ok = result.okPerSecond * result.seconds;
  const p: Phase = {
    what,
    result,
    cpuMicrosPerRequest:
      cpuBefore === undefined || cpuAfter === undefined || ok === 0
        ? undefined
        : ((cpuAfter - cpuBefore) / ok) * 1e6,
    loadCpuMicrosPerRequest:
      (loadCpuUsed.user + loadCpuUsed.system) / result.responses,
    memory: server.memory(),
    serverSide: measured.serverSide,
  };
  printPhase(p);
  return p;
}

async function stopped(server: ServerProcess): Promise<string> {
  const exit = await server.stop();
  if (exit.killed) return "did not stop within 15 s of SIGTERM: killed";
  return exit.code === 0
    ? "exit 0 on SIGTERM"
    : `exit code ${exit.code}, signal ${exit.signal}`;
}

async function measureAnchor(d: Durations): Promise<Phase> {
  const server = await startServer({
    name: "hello world",
    args: ["--import", "tsx", HELLO],
    env: childEnv({}),
  });
  try {
    const base = {
      url: server.url,
      connections: CONNECTIONS,
      requests: helloRequests,
    };
    await load({ ...base, seconds: d.warmup });
    return await phase(server, "anchor: Fastify hello world GET /", () =>
      load({ ...base, seconds: d.saturation }),
    );
  } finally {
    await server.stop();
  }
}

/** The service's phases; each kind of request is warmed up before it is measured. */
async function measureService(
  server: ServerProcess,
  ids: readonly string[],
  d: Durations,
): Promise<Pick<EngineResult, "saturation" | "fixedRate" | "paced" | "batch">> {
  // Seeded, so every run asks for the same ids in the same order.
  const random = mulberry32(42);
  const predict = {
    url: server.url,
    connections: CONNECTIONS,
    requests: predictRequests(ids, random),
  };
  await load({ ...predict, seconds: d.warmup });
  const single: ServerSideProbe = { endpoint: "/predict", lookup: "single" };
  const saturation = await phase(
    server,
    "POST /predict, saturation",
    () => load({ ...predict, seconds: d.saturation }),
    single,
  );
  const fixedRate = await phase(
    server,
    `POST /predict at ${fmt(FIXED_RATE, 0)} req/s (autocannon)`,
    () => load({ ...predict, seconds: d.fixedRate, overallRate: FIXED_RATE }),
    single,
  );
  const evenlyPaced = {
    url: server.url,
    path: "/predict",
    bodies: predictRequests(ids, random)().map((r) => r.body as string),
    rate: FIXED_RATE,
  };
  // node:http's client code is cold until now: warm it, or its first requests weigh on p99.
  await paced({ ...evenlyPaced, seconds: d.warmup });
  const evenly = await phase(
    server,
    `POST /predict at ${fmt(FIXED_RATE, 0)} req/s, evenly paced`,
    () => paced({ ...evenlyPaced, seconds: d.paced }),
    single,
  );
  const batchLoad = {
    url: server.url,
    connections: 1,
    requests: batchRequests(ids, random),
  };
  await load({ ...batchLoad, seconds: d.warmup });
  const batch = await phase(
    server,
    `POST /predict/batch, ${fmt(BATCH_SIZE, 0)} ids, sequential`,
    () => load({ ...batchLoad, seconds: d.batch }),
    { endpoint: "/predict/batch", lookup: "batch" },
  );
  return { saturation, fixedRate, paced: evenly, batch };
}

/** The responsiveness phase, on its own server with the feature cache off (see serve-responsive.ts). */
async function measureResponsive(
  env: NodeJS.ProcessEnv,
  ids: readonly string[],
  d: Durations,
): Promise<ResponsivenessRound[]> {
  const server = await startServer({
    name: "streamflow serve (feature cache off)",
    args: [
      CLI,
      "serve",
      "--port",
      "0",
      "--json",
      "--reload-interval-s",
      "0",
      "--log-level",
      "warn",
      "--feature-cache-ttl-s",
      "0",
    ],
    env,
  });
  try {
    console.log(
      `  GET /health at ${HEALTH_RATE} req/s, evenly paced, idle then with POST /predict/batch of ${fmt(BATCH_SIZE, 0)} distinct ids back to back (1 conn), feature cache off, ${d.responsiveRounds} rounds of ${d.responsive} s:`,
    );
    const rounds = await measureResponsiveness({
      url: server.url,
      seconds: d.responsive,
      rounds: d.responsiveRounds,
      batchRequests: batchRequests(ids, mulberry32(7)),
    });
    rounds.forEach((r, i) => console.log(`    ${describeRound(r, i)}`));
    return rounds;
  } finally {
    await server.stop();
  }
}

async function measureEngine(
  engine: Engine,
  data: { dir: string; ids: string[] },
  work: string,
  d: Durations,
): Promise<EngineResult> {
  const name = ENGINE_NAME[engine];
  let dbName: string | undefined;
  if (engine === "postgres") {
    dbName = `sf_bench_serve_${Math.random().toString(36).slice(2, 10)}`;
    psql(ADMIN_URL, `CREATE DATABASE ${dbName}`);
  }
  try {
    const env = childEnv({
      STREAMFLOW_HOME: join(work, `${engine}-home`),
      STREAMFLOW_DATABASE_URL:
        dbName === undefined ? undefined : databaseUrl(dbName),
    });
    console.log(
      `\n${name}: setting up through the CLI (ingest ×2, materialize, train, promote)…`,
    );
    const setupSeconds = await setUp(data.dir, env);
    console.log(
      `  ${Object.entries(setupSeconds)
        .map(([step, s]) => `${step} ${fmt(s, 1)} s`)
        .join(", ")}`,
    );

    const anchor = await measureAnchor(d);
    const server = await startServer({
      name: "streamflow serve",
      args: [
        CLI,
        "serve",
        "--port",
        "0",
        "--json",
        "--reload-interval-s",
        "0",
        "--log-level",
        "warn",
        ...serveExtraArgs,
      ],
      env,
    });
    let exit = "";
    try {
      if (server.info["model"] === null)
        throw new Error(
          `streamflow serve has no model: ${JSON.stringify(server.info)}`,
        );
      await sanityCheck(server.url, data.ids);
      const idleMemory = server.memory();
      const phases = await measureService(server, data.ids, d);
      const peakMemory = server.memory();
      exit = await stopped(server);
      const responsive = await measureResponsive(env, data.ids, d);
      return {
        engine,
        setupSeconds,
        server: server.info,
        anchor,
        ...phases,
        responsive,
        idleMemory,
        peakMemory,
        exit,
        log: server
          .stderr()
          .split("\n")
          .filter((l) => l.trim() !== ""),
      };
    } finally {
      if (exit === "") await server.stop();
    }
  } finally {
    if (dbName !== undefined)
      psql(ADMIN_URL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

const fmt = (n: number | undefined, digits = 1): string =>
  n === undefined || Number.isNaN(n)
    ? "–"
    : n.toLocaleString("en-US", {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });

function errorsOf(r: LoadResult): string {
  const statuses = Object.entries(r.statuses)
    .filter(([s]) => !s.startsWith("2"))
    .map(([s, n]) => `${n}× ${s}`);
  return `${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx${statuses.length > 0 ? ` (${statuses.join(", ")})` : ""}`;
}

function serverView(s: ServerSide | undefined): string {
  return s === undefined
    ? ""
    : `server-side ms mean ${fmt(s.meanMs, 2)}, p50 ≤ ${fmt(s.p50AtMostMs, 1)}, p99 ≤ ${fmt(s.p99AtMostMs, 1)}, DB lookup mean ${fmt(s.lookupMeanMs, 2)}; `;
}

function printPhase(p: Phase): void {
  const r = p.result;
  const l = r.latency;
  console.log(
    `  ${p.what}: ${fmt(r.okPerSecond, 0)} ok/s over ${fmt(r.seconds, 1)} s, ${r.connections} conn; latency ms p50 ${fmt(l.p50, 2)} p90 ${fmt(l.p90, 2)} p99 ${fmt(l.p99, 2)} max ${fmt(l.max, 2)}; ${errorsOf(r)}; ${serverView(p.serverSide)}CPU µs/req server ${fmt(p.cpuMicrosPerRequest, 0)}, load generator ${fmt(p.loadCpuMicrosPerRequest, 0)}; RSS ${fmt(p.memory?.rssMiB, 0)} MiB`,
  );
}

interface Goal {
  engine: string;
  measure: string;
  figure: string;
  goal: string;
  met: boolean | undefined;
}

function fixedRateGoal(engine: string, how: string, f: LoadResult): Goal {
  return {
    engine,
    measure: `POST /predict at ${fmt(FIXED_RATE, 0)} req/s, ${how}, ${fmt(f.seconds, 0)} s`,
    figure: `p50 ${fmt(f.latency.p50, 2)} · p90 ${fmt(f.latency.p90, 2)} · p99 ${fmt(f.latency.p99, 2)} · max ${fmt(f.latency.max, 1)} ms; ${fmt(f.responses / f.seconds, 0)} resp/s; ${errorsOf(f)}`,
    goal: "p99 ≤ 5 ms, 0 errors",
    met: f.latency.p99 <= 5 && f.errors === 0 && f.non2xx === 0,
  };
}

function goals(e: EngineResult): Goal[] {
  const engine = ENGINE_NAME[e.engine];
  const ratio = e.saturation.result.okPerSecond / e.anchor.result.okPerSecond;
  const f = e.fixedRate.result;
  const b = e.batch.result;
  return [
    {
      engine,
      measure: `POST /predict saturation (${CONNECTIONS} conn) / hello world`,
      figure: `${fmt(e.saturation.result.okPerSecond, 0)} / ${fmt(e.anchor.result.okPerSecond, 0)} req/s = ${fmt(ratio, 2)}×`,
      goal: "≥ 0.30×",
      met: ratio >= 0.3,
    },
    fixedRateGoal(engine, `autocannon, ${f.connections} conn`, f),
    fixedRateGoal(engine, "evenly paced (open loop)", e.paced.result),
    {
      engine,
      measure: `POST /predict/batch ${fmt(BATCH_SIZE, 0)} ids (1 conn, ${fmt(b.seconds, 0)} s)`,
      figure: `p50 ${fmt(b.latency.p50, 2)} · p99 ${fmt(b.latency.p99, 2)} ms; ${fmt(b.okPerSecond, 1)} req/s; ${errorsOf(b)}`,
      goal: "p50 ≤ 20 ms",
      met: b.latency.p50 <= 20 && b.errors === 0 && b.non2xx === 0,
    },
    {
      engine,
      measure: `GET /health while ${fmt(BATCH_SIZE, 0)}-id batches run back to back (feature cache off)`,
      figure: summarizeRounds(e.responsive).figure,
      goal: "p99 ≤ 20 ms (worst round)",
      met: summarizeRounds(e.responsive).worstP99 <= 20,
    },
    {
      engine,
      measure: "server RSS (idle after start / peak)",
      figure: `${fmt(e.idleMemory?.rssMiB, 0)} / ${fmt(e.peakMemory?.peakMiB, 0)} MiB`,
      goal: "–",
      met: undefined,
    },
  ];
}

function report(results: EngineResult[]): void {
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        " ",
      )} (the server, the load generator and PostgreSQL share ${availableParallelism()} cores)`,
  );
  console.log(
    "\n| engine | phase | conn | s | ok req/s | p50 ms | p90 ms | p99 ms | max ms | errors | non-2xx | server-side mean / p99 bucket ms | DB lookup mean ms | server CPU µs/req | load generator CPU µs/req | server RSS MiB |",
  );
  console.log(
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const e of results) {
    for (const p of [e.anchor, e.saturation, e.fixedRate, e.paced, e.batch]) {
      const r = p.result;
      const l = r.latency;
      const s = p.serverSide;
      console.log(
        `| ${ENGINE_NAME[e.engine]} | ${p.what} | ${r.connections} | ${fmt(r.seconds, 0)} | ${fmt(r.okPerSecond, 0)} | ${fmt(l.p50, 2)} | ${fmt(l.p90, 2)} | ${fmt(l.p99, 2)} | ${fmt(l.max, 1)} | ${r.errors} | ${r.non2xx} | ${s === undefined ? "" : `${fmt(s.meanMs, 2)} / ≤ ${fmt(s.p99AtMostMs, 1)}`} | ${fmt(s?.lookupMeanMs, 2)} | ${fmt(p.cpuMicrosPerRequest, 0)} | ${fmt(p.loadCpuMicrosPerRequest, 0)} | ${fmt(p.memory?.rssMiB, 0)} |`,
      );
    }
  }
  console.log("\n| engine | measure | figure | goal | met |");
  console.log("|---|---|---|---|---|");
  for (const e of results) {
    for (const g of goals(e)) {
      const met = g.met === undefined ? "" : g.met ? "met" : "**not met**";
      console.log(
        `| ${g.engine} | ${g.measure} | ${g.figure} | ${g.goal} | ${met} |`,
      );
    }
  }
  for (const e of results) {
    const lines =
      e.log.length === 0
        ? ""
        : `; its log (warn and above), ${e.log.length} lines, first ones:\n    ${e.log.slice(0, 5).join("\n    ")}`;
    console.log(`\n${ENGINE_NAME[e.engine]} server: ${e.exit}${lines}`);
  }
}

/** The commit measured, and whether packages/ differs from it (the dist is built from the work tree). */
function revision(): string {
  try {
    const git = (...a: string[]): string =>
      execFileSync("git", ["-C", ROOT, ...a], { encoding: "utf8" }).trim();
    const dirty = git("status", "--porcelain", "--", "packages") !== "";
    return `commit ${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted changes in packages/" : ""}`;
  } catch {
    return "commit unknown";
  }
}

/** Entry point used by bench/run.ts. */
/** Extra `streamflow serve` flags from the bench's own (--cache-ttl-s). */
let serveExtraArgs: string[] = [];

export async function run(args: string[]): Promise<void> {
  const cacheTtl = args
    .find((a) => a.startsWith("--cache-ttl-s="))
    ?.slice("--cache-ttl-s=".length);
  serveExtraArgs =
    cacheTtl === undefined ? [] : ["--feature-cache-ttl-s", cacheTtl];
  const cliArg = args
    .find((a) => a.startsWith("--cli="))
    ?.slice("--cli=".length);
  if (cliArg !== undefined) CLI = cliArg;
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: pnpm build first`);
  const quick = args.includes("--quick");
  const engineArg = args
    .find((a) => a.startsWith("--engine="))
    ?.slice("--engine=".length);
  if (
    engineArg !== undefined &&
    !(ENGINES as readonly string[]).includes(engineArg)
  )
    throw new Error(
      `--engine=${engineArg}: expected one of ${ENGINES.join(", ")}`,
    );
  const engines =
    engineArg === undefined ? [...ENGINES] : [engineArg as Engine];
  const d = quick ? QUICK : FULL;
  const work = await mkdtemp(join(tmpdir(), "sf-bench-serve-"));
  try {
    const { dir, what } = await dataDir(work);
    const ids = await userIds(dir);
    console.log(
      `${cliArg === undefined ? revision() : `CLI ${CLI}`}; cores: ${availableParallelism()}; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(
          " ",
        )}; ${what}, ${ids.length} user ids; service flags: ${serveExtraArgs.join(" ") || "defaults (feature cache 5 s)"}; phases${quick ? " (quick)" : ""}: warm-up ${d.warmup} s, saturation ${d.saturation} s, fixed rate ${d.fixedRate} s, evenly paced ${d.paced} s, batch ${d.batch} s, responsiveness ${d.responsiveRounds} × 2 × ${d.responsive} s`,
    );
    console.log(
      `autocannon's rate limit lets each connection send its share of a second back to back at the start of that second, so its ${fmt(FIXED_RATE, 0)} req/s phase is ${CONNECTIONS}-way bursts; the evenly paced phase sends one request every ${fmt(1000 / FIXED_RATE, 1)} ms (conn = peak in flight)`,
    );
    const results: EngineResult[] = [];
    for (const engine of engines) {
      if (engine === "postgres") {
        try {
          psql(ADMIN_URL, "SELECT 1");
        } catch (error) {
          console.log(
            `\nPostgreSQL: skipped, ${ADMIN_URL} does not answer (${(error as Error).message.split("\n")[0]})`,
          );
          continue;
        }
      }
      results.push(await measureEngine(engine, { dir, ids }, work, d));
    }
    report(results);
    await mkdir(join(ROOT, "bench/out"), { recursive: true });
    await writeFile(
      join(ROOT, "bench/out/serve.json"),
      JSON.stringify({ quick, durations: d, results }, null, 2),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
