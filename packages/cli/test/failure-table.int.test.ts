import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MLFLOW_LINES,
  startMlflowServer,
  testServerUrl,
  type MlflowServer,
} from "@streamflow/test-utils";
import { runCli, type CliRun } from "./run-cli.ts";

// The README's exit-code table and its --json promise, command by command: every failure exits
// with the code the table gives, prints exactly one {"ok": false, "error": {...}} object on stdout
// with --json (nothing on stdout without it), and never a stack trace.

let work: string;
let home: string;

/** A valid invocation of each command (its required flags), before a failure is added. */
const COMMANDS: Record<string, () => string[]> = {
  ingest: () => [
    "ingest",
    "--month-dir",
    join(work, "data", "month_000"),
    "--as-of",
    "2024-01-31",
  ],
  "build-dataset": () => [
    "build-dataset",
    "--as-of",
    "2024-01-31",
    "--out",
    join(work, "train.csv"),
  ],
  materialize: () => ["materialize", "--as-of", "2024-01-31"],
  "check-online": () => ["check-online"],
  train: () => ["train", "--as-of", "2024-01-31", "--n-estimators", "3"],
  "generate-data": () => [
    "generate-data",
    "--out",
    join(work, "generated"),
    "--users",
    "20",
    "--months",
    "1",
  ],
  quickstart: () => ["quickstart", "--users", "200", "--n-estimators", "10"],
  promote: () => ["promote", "--latest", "--stage", "Production"],
  "promote --if-better": () => [
    "promote",
    "--latest",
    "--stage",
    "Production",
    "--if-better",
  ],
  serve: () => ["serve", "--port", "0"],
  "models list": () => ["models", "list"],
  "models show": () => ["models", "show", "streamflow_churn"],
  "db migrate": () => ["db", "migrate"],
};

/** Commands that open the database before anything else can fail (promote only does for --if-better, after the registry). */
const DATABASE_COMMANDS = [
  "ingest",
  "build-dataset",
  "materialize",
  "check-online",
  "train",
  "quickstart",
  "serve",
  "db migrate",
];

interface Case {
  name: string;
  argv: () => string[];
  env?: Record<string, string>;
  exit: number;
  code: string;
}

const server = new URL(testServerUrl());
const MALFORMED_URLS = {
  "a port that is not a number": `postgres://postgres@${server.hostname}:54x2/streamflow`,
  "'#' in the password": `postgres://postgres:pa#ss@${server.hostname}:${server.port || 5432}/streamflow`,
  "'/' in the password": `postgres://postgres:pa/ss@${server.hostname}:${server.port || 5432}/streamflow`,
  "a port parameter that is not a number": `postgres://postgres@${server.hostname}/streamflow?port=abc`,
};
// Nothing listens on port 1: refused at once, no retry budget to wait out.
const UNREACHABLE_URL = "postgres://postgres@127.0.0.1:1/streamflow";

/** Names the registry does not hold, beside the model and version it does (made in beforeAll). */
const NOT_FOUND_CASES: Case[] = [
  {
    name: "promote: unknown model (--latest)",
    argv: () => [
      "promote",
      "--latest",
      "--stage",
      "Production",
      "--model-name",
      "nope",
    ],
    exit: 4,
    code: "REGISTRY_NOT_FOUND",
  },
  {
    name: "promote: unknown model (--version)",
    argv: () => [
      "promote",
      "--version",
      "1",
      "--stage",
      "Production",
      "--model-name",
      "nope",
    ],
    exit: 4,
    code: "REGISTRY_NOT_FOUND",
  },
  {
    name: "promote: unknown version",
    argv: () => ["promote", "--version", "99", "--stage", "Production"],
    exit: 4,
    code: "REGISTRY_NOT_FOUND",
  },
  {
    name: "promote: unknown run",
    argv: () => ["promote", "--run-id", "no-such-run", "--stage", "Production"],
    exit: 4,
    code: "REGISTRY_NOT_FOUND",
  },
  {
    name: "models show: unknown model",
    argv: () => ["models", "show", "nope"],
    exit: 4,
    code: "REGISTRY_NOT_FOUND",
  },
];

const cases: Case[] = [
  { name: "unknown command", argv: () => ["bogus"], exit: 2, code: "USAGE" },
  { name: "no command", argv: () => [], exit: 2, code: "USAGE" },
  ...Object.entries(COMMANDS).map(([name, argv]) => ({
    name: `${name}: unknown option`,
    argv: () => [...argv(), "--bogus"],
    exit: 2,
    code: "USAGE",
  })),
  {
    name: "ingest: bad --as-of",
    argv: () => ["ingest", "--month-dir", work, "--as-of", "2024-13-01"],
    exit: 2,
    code: "USAGE",
  },
  {
    name: "build-dataset: missing --out",
    argv: () => ["build-dataset", "--as-of", "2024-01-31"],
    exit: 2,
    code: "USAGE",
  },
  {
    name: "train: bad --n-estimators",
    argv: () => ["train", "--as-of", "2024-01-31", "--n-estimators", "0"],
    exit: 2,
    code: "USAGE",
  },
  {
    name: "promote: bad --stage",
    argv: () => ["promote", "--latest", "--stage", "Live"],
    exit: 2,
    code: "USAGE",
  },
  {
    name: "promote: no candidate named",
    argv: () => ["promote", "--stage", "Production"],
    exit: 2,
    code: "USAGE",
  },
  {
    name: "serve: bad --port",
    argv: () => ["serve", "--port", "http"],
    exit: 2,
    code: "USAGE",
  },
  {
    name: "models show: missing name",
    argv: () => ["models", "show"],
    exit: 2,
    code: "USAGE",
  },
  ...Object.entries(COMMANDS).map(([name, argv]) => ({
    name: `${name}: unreadable STREAMFLOW_CONFIG`,
    argv,
    env: {
      STREAMFLOW_CONFIG: join(tmpdir(), "streamflow-no-such-config.json"),
    },
    exit: 2,
    code: "CONFIG_INVALID",
  })),
  ...DATABASE_COMMANDS.flatMap((name) =>
    Object.entries(MALFORMED_URLS).map(([what, url]) => ({
      name: `${name}: database URL with ${what}`,
      argv: COMMANDS[name]!,
      env: { STREAMFLOW_DATABASE_URL: url },
      exit: 2,
      code: "DATABASE_URL_INVALID",
    })),
  ),
  ...DATABASE_COMMANDS.map((name) => ({
    name: `${name}: database unreachable`,
    argv: COMMANDS[name]!,
    env: { STREAMFLOW_DATABASE_URL: UNREACHABLE_URL },
    exit: 3,
    code: "DATABASE_UNAVAILABLE",
  })),
  ...NOT_FOUND_CASES,
];

/** A line of a JavaScript stack trace ("    at fn (file:line:col)"). */
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

function expectFailure(run: CliRun, c: Case, json: boolean): void {
  const where = `${c.name}${json ? " --json" : ""}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
  expect(run.exitCode, where).toBe(c.exit);
  expect(run.stderr, where).not.toMatch(STACK_LINE);
  expect(run.stderr, where).not.toContain("this is a bug");
  expect(run.stderr.trim(), where).not.toBe("");
  if (!json) {
    expect(run.stdout, where).toBe("");
    return;
  }
  // JSON.parse of the whole of stdout: exactly one value, nothing before or after it.
  const body = JSON.parse(run.stdout) as {
    ok?: unknown;
    error?: {
      code?: unknown;
      message?: unknown;
      hint?: unknown;
      details?: unknown;
    };
  };
  expect(body, where).toEqual({
    ok: false,
    error: expect.objectContaining({
      code: c.code,
      message: expect.any(String) as unknown,
    }) as unknown,
  });
  expect(Object.keys(body.error!).sort(), where).toEqual([
    "code",
    "details",
    "hint",
    "message",
  ]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sf-failure-table-"));
  home = join(work, "home");
  // A registry with one model and version, so the not-found cases name something that is missing beside it.
  const env = { STREAMFLOW_HOME: home };
  for (const argv of [
    [
      "generate-data",
      "--out",
      join(work, "data"),
      "--users",
      "300",
      "--months",
      "1",
    ],
    [
      "ingest",
      "--month-dir",
      join(work, "data", "month_000"),
      "--as-of",
      "2024-01-31",
    ],
    ["train", "--as-of", "2024-01-31", "--n-estimators", "3"],
  ]) {
    const r = await runCli(argv, env, work);
    expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("every command × failure: exit code, --json shape, no stack trace", () => {
  it.each(cases)("$name → exit $exit ($code)", async (c) => {
    const env = {
      STREAMFLOW_HOME: home,
      MLFLOW_TRACKING_URI: undefined,
      STREAMFLOW_API_TOKEN: undefined,
      ...c.env,
    };
    expectFailure(await runCli(c.argv(), env, work), c, false);
    expectFailure(await runCli([...c.argv(), "--json"], env, work), c, true);
  });
});

describe.each(MLFLOW_LINES)(
  "unknown names on a real MLflow %s.x server exit 4 too",
  (line) => {
    let server: MlflowServer;
    let env: Record<string, string | undefined>;

    beforeAll(async () => {
      server = await startMlflowServer({ line });
      env = {
        STREAMFLOW_HOME: home,
        MLFLOW_TRACKING_URI: server.url,
        STREAMFLOW_API_TOKEN: undefined,
      };
      const r = await runCli(
        ["train", "--as-of", "2024-01-31", "--n-estimators", "3"],
        env,
        work,
      );
      expect(r.exitCode, r.stderr).toBe(0);
    });

    afterAll(async () => {
      await server?.stop();
    });

    it.each(NOT_FOUND_CASES)("$name → exit $exit ($code)", async (c) => {
      expectFailure(await runCli(c.argv(), env, work), c, false);
      expectFailure(await runCli([...c.argv(), "--json"], env, work), c, true);
    });
  },
);
