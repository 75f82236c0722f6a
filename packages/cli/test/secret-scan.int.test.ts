import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startPrivatePostgres,
  type PrivatePostgres,
} from "@streamflow/test-utils";
import { main } from "../src/main.ts";
import { runCli } from "./run-cli.ts";

// "A database password is never printed or served": a distinctive password is planted in every
// form pg reads one from, and every command's stdout and stderr (plain, --verbose, --json), and
// every HTTP body and header of the service, are scanned for it. The database is a real
// PostgreSQL of the test's own (trust auth: any password is accepted), so the commands succeed,
// and it is stopped to see the messages of an outage as well.

const SECRET = "Sf5PlantedPw7Qx";
const TOKEN = "sf5-secret-scan-token";

/** Every form pg reads a password from; each must still connect (trust auth ignores the value). */
const WORKING_FORMS: Record<string, (host: string) => string> = {
  "user:password@": (h) => `postgres://postgres:${SECRET}@${h}/postgres`,
  "?password=": (h) => `postgres://postgres@${h}/postgres?password=${SECRET}`,
  "percent-encoded user:password@": (h) =>
    `postgresql://postgres:${SECRET}%23%40%2F%3A@${h}/postgres`,
  "percent-encoded ?password=": (h) =>
    `postgres://postgres@${h}/postgres?sslmode=disable&password=${SECRET}%26%3D%23`,
  "?sslpassword= and both passwords": (h) =>
    `postgres://postgres:${SECRET}@${h}/postgres?sslpassword=${SECRET}&password=${SECRET}`,
};

/** Forms pg would misread (or we refuse): each must exit 2 without quoting the password. */
const MALFORMED_FORMS: Record<string, (host: string) => string> = {
  "'#' in the password": (h) => `postgres://postgres:${SECRET}#1@${h}/postgres`,
  "'#' right after the colon": (h) =>
    `postgres://postgres:#${SECRET}@${h}/postgres`,
  "'/' in the password": (h) => `postgres://postgres:${SECRET}/1@${h}/postgres`,
  "'?' in the password": (h) =>
    `postgres://postgres:pw?${SECRET}@${h}/postgres`,
  "a bad escape in the password": (h) =>
    `postgres://postgres:${SECRET}%ff@${h}/postgres`,
  "a port that is not a number": (h) =>
    `postgres://postgres:${SECRET}@${h.split(":")[0]}:5x/postgres?password=${SECRET}`,
  "a libpq key=value string": (h) =>
    `host=${h.split(":")[0]} port=${h.split(":")[1]} password=${SECRET} dbname=postgres`,
  "another scheme": (h) =>
    `mysql://postgres:${SECRET}@${h}/postgres?password=${SECRET}`,
};

let work: string;
let pg: PrivatePostgres;
let host: string;
const data = () => join(work, "data");

/** Fails naming where the password showed, with a little context, never the whole output. */
function expectNoSecret(text: string, where: string): void {
  const at = text.indexOf(SECRET);
  if (at >= 0)
    expect.fail(
      `${where} shows the password: …${text.slice(Math.max(0, at - 120), at + SECRET.length + 40)}…`,
    );
}

/** Each command with the flags that make it succeed on the month data; promote --if-better may refuse (exit 5). */
const pipeline = (): string[][] => [
  ["db", "migrate"],
  ["ingest", "--month-dir", join(data(), "month_000"), "--as-of", "2024-01-31"],
  ["ingest", "--month-dir", join(data(), "month_001"), "--as-of", "2024-02-29"],
  [
    "build-dataset",
    "--as-of",
    "2024-01-31",
    "--label-as-of",
    "2024-02-29",
    "--out",
    join(work, "train.csv"),
  ],
  ["materialize", "--as-of", "2024-02-29"],
  ["check-online", "--min-coverage", "0"],
  ["train", "--as-of", "2024-01-31", "--n-estimators", "3"],
  ["promote", "--latest", "--stage", "Production"],
  ["train", "--as-of", "2024-02-29", "--n-estimators", "3", "--seed", "7"],
  ["promote", "--latest", "--alias", "champion", "--if-better"],
  ["models", "list"],
  ["models", "show", "streamflow_churn"],
  [
    "generate-data",
    "--out",
    join(work, "generated"),
    "--users",
    "20",
    "--months",
    "1",
  ],
];
/** Commands that open the database first (promote --if-better opens it after the registry, so only where versions exist). */
const DATABASE_COMMANDS = (): string[][] => [
  ...pipeline().filter(
    (argv) => !["models", "generate-data", "promote"].includes(argv[0]!),
  ),
  ["serve", "--port", "0"],
  ["quickstart", "--users", "300", "--n-estimators", "10"],
];
const MODES = [[], ["--verbose"], ["--json", "--verbose"]];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sf-secret-scan-"));
  pg = await startPrivatePostgres();
  host = `127.0.0.1:${pg.port}`;
  const r = await runCli(
    ["generate-data", "--out", data(), "--users", "300", "--months", "2"],
    {},
    work,
  );
  expect(r.exitCode, r.stderr).toBe(0);
});

afterAll(async () => {
  await pg?.destroy();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

interface Served {
  /** What serve --json printed on stdout. */
  result: { url: string; database: string };
  /** stdout and stderr (the JSON log lines) so far. */
  output: () => string;
  stop: () => Promise<number>;
}

/** `streamflow serve --json --verbose` in-process, stopped the way SIGTERM stops it. */
async function serve(env: Record<string, string | undefined>): Promise<Served> {
  let output = "";
  let stdout = "";
  let requestStop!: (signal: string) => void;
  const stopped = new Promise<string>((resolve) => (requestStop = resolve));
  const exit = main(
    [
      "serve",
      "--port",
      "0",
      "--feature-cache-ttl-s",
      "0",
      "--reload-interval-s",
      "1",
      "--json",
      "--verbose",
    ],
    {
      stdout: { write: (s: string) => ((stdout += s), (output += s)) },
      stderr: { write: (s: string) => (output += s), isTTY: false },
      env: { ...env, STREAMFLOW_API_TOKEN: TOKEN },
      cwd: work,
      stopRequested: () => stopped,
    },
  );
  const started = Date.now();
  for (;;) {
    try {
      const result = JSON.parse(stdout) as Served["result"];
      return {
        result,
        output: () => output,
        stop: () => (requestStop("SIGTERM"), exit),
      };
    } catch {
      const code = await Promise.race([
        exit,
        new Promise((r) => setTimeout(r, 50, "running")),
      ]);
      if (code !== "running" || Date.now() - started > 30_000)
        throw new Error(`serve did not start (${String(code)}):\n${output}`);
    }
  }
}

/** Every route, authorised and not, good and bad input; returns status, headers and body of each. */
async function everyRoute(url: string, userId: string): Promise<string[]> {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const json = { "content-type": "application/json" };
  const requests: [string, RequestInit][] = [
    ["/health", {}],
    ["/ready", {}],
    ["/metrics", {}],
    ["/openapi.json", {}],
    ["/no-such-route", {}],
    [
      "/predict",
      {
        method: "POST",
        headers: { ...json, ...auth },
        body: JSON.stringify({ user_id: userId }),
      },
    ],
    [
      "/predict",
      {
        method: "POST",
        headers: { ...json, ...auth },
        body: JSON.stringify({ user_id: "no-such-user" }),
      },
    ],
    [
      "/predict",
      { method: "POST", headers: { ...json, ...auth }, body: "{not json" },
    ],
    [
      "/predict",
      {
        method: "POST",
        headers: { ...json, ...auth },
        body: JSON.stringify({ user: 1 }),
      },
    ],
    [
      "/predict",
      {
        method: "POST",
        headers: json,
        body: JSON.stringify({ user_id: userId }),
      },
    ],
    [
      "/predict/batch",
      {
        method: "POST",
        headers: { ...json, ...auth },
        body: JSON.stringify({ user_ids: [userId, "no-such-user"] }),
      },
    ],
    [
      "/predict/batch",
      {
        method: "POST",
        headers: { ...json, ...auth },
        body: JSON.stringify({ user_ids: [] }),
      },
    ],
    [`/features/${encodeURIComponent(userId)}`, { headers: auth }],
    ["/features/no-such-user", { headers: auth }],
    [`/features/${encodeURIComponent(userId)}`, {}],
  ];
  return Promise.all(
    requests.map(async ([path, init]) => {
      const response = await fetch(`${url}${path}`, {
        ...init,
        signal: AbortSignal.timeout(15_000),
      });
      return `${init.method ?? "GET"} ${path} → ${response.status} ${JSON.stringify([...response.headers])}\n${await response.text()}`;
    }),
  );
}

describe.each(Object.entries(WORKING_FORMS))(
  "a password given as %s",
  (form, urlOf) => {
    let home: string;
    const env = () => ({
      STREAMFLOW_HOME: home,
      STREAMFLOW_DATABASE_URL: urlOf(host),
      MLFLOW_TRACKING_URI: undefined,
      STREAMFLOW_API_TOKEN: undefined,
    });

    beforeAll(async () => {
      home = await mkdtemp(join(work, "home-"));
    });

    it("is in no command's output, plain, --verbose or --json", async () => {
      for (const mode of MODES) {
        for (const argv of pipeline()) {
          const r = await runCli([...argv, ...mode], env(), work);
          const where = `${form}: streamflow ${[...argv, ...mode].join(" ")}`;
          expect(
            [0, 5],
            `${where} exited ${r.exitCode}\n${r.stderr}`,
          ).toContain(r.exitCode);
          expectNoSecret(r.stdout + r.stderr, where);
        }
      }
      // The same users and seed as the data above, so its ingests are no-ops on the shared database.
      const quickstart = await runCli(
        [
          "quickstart",
          "--users",
          "300",
          "--n-estimators",
          "10",
          "--json",
          "--verbose",
        ],
        env(),
        work,
      );
      expect(quickstart.exitCode, quickstart.stderr).toBe(0);
      expectNoSecret(
        quickstart.stdout + quickstart.stderr,
        `${form}: quickstart`,
      );
      expect(quickstart.json()["database"]).toBe(
        `PostgreSQL at ${host}/postgres`,
      );
    });

    it("is in no HTTP answer of the service, nor in its log, with the database up and down", async () => {
      const users = (
        await readFile(join(data(), "month_001", "users.csv"), "utf8")
      ).split("\n");
      const userId = users[1]!.split(",")[0]!;
      const served = await serve(env());
      let stopped = false;
      try {
        expect(served.result.database).toBe(`PostgreSQL at ${host}/postgres`);
        const url = served.result.url;
        const up = await everyRoute(url, userId);
        expect(up.find((a) => a.startsWith("GET /ready"))).toMatch(/→ 200/);
        for (const answer of up)
          expectNoSecret(
            answer,
            `${form}, database up: ${answer.split("\n")[0]!}`,
          );

        await pg.stop();
        stopped = true;
        // The service notices within its heartbeat; /ready then reports the database error.
        const deadline = Date.now() + 10_000;
        let ready = "";
        while (!/"ok":false/.test(ready) && Date.now() < deadline) {
          ready = await (await fetch(`${url}/ready`)).text();
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(ready).toMatch(/"database":\{"ok":false/);
        const down = await everyRoute(url, userId);
        expect(down.find((a) => a.startsWith("POST /predict →"))).toMatch(
          /→ 503/,
        );
        for (const answer of down)
          expectNoSecret(
            answer,
            `${form}, database down: ${answer.split("\n")[0]!}`,
          );

        // Commands see the same outage (exit 3): their messages and causes must not carry it either.
        // Version 1 against the Production holder (a later version): --if-better reads the dataset.
        for (const argv of [
          ...DATABASE_COMMANDS(),
          ["promote", "--version", "1", "--stage", "Production", "--if-better"],
        ]) {
          const r = await runCli([...argv, "--json", "--verbose"], env(), work);
          const where = `${form}, database down: streamflow ${argv.join(" ")}`;
          expect(r.exitCode, `${where}\n${r.stderr}`).toBe(3);
          expectNoSecret(r.stdout + r.stderr, where);
        }
      } finally {
        if (stopped) await pg.start();
        expect(await served.stop()).toBe(0);
      }
      expectNoSecret(served.output(), `${form}: serve's stdout and log`);
    });
  },
);

describe("a password in a malformed or refused URL", () => {
  it.each(Object.entries(MALFORMED_FORMS))(
    "%s: every command exits 2 without showing it",
    async (form, urlOf) => {
      const home = await mkdtemp(join(work, "home-"));
      for (const argv of DATABASE_COMMANDS()) {
        for (const mode of [[], ["--json", "--verbose"]]) {
          const r = await runCli(
            [...argv, ...mode],
            { STREAMFLOW_HOME: home, STREAMFLOW_DATABASE_URL: urlOf(host) },
            work,
          );
          const where = `${form}: streamflow ${[...argv, ...mode].join(" ")}`;
          expect(r.exitCode, `${where}\n${r.stderr}`).toBe(2);
          expect(r.stderr, where).toContain("DATABASE_URL_INVALID");
          expectNoSecret(r.stdout + r.stderr, where);
        }
      }
    },
  );

  it("a server that refuses: every command exits 3 without showing it", async () => {
    const home = await mkdtemp(join(work, "home-"));
    const url = `postgres://postgres:${SECRET}@127.0.0.1:1/postgres?password=${SECRET}&sslpassword=${SECRET}`;
    for (const argv of DATABASE_COMMANDS()) {
      for (const mode of [[], ["--verbose"], ["--json", "--verbose"]]) {
        const r = await runCli(
          [...argv, ...mode],
          { STREAMFLOW_HOME: home, STREAMFLOW_DATABASE_URL: url },
          work,
        );
        const where = `refused: streamflow ${[...argv, ...mode].join(" ")}`;
        expect(r.exitCode, `${where}\n${r.stderr}`).toBe(3);
        expect(r.stderr, where).toContain("PostgreSQL at 127.0.0.1:1/postgres");
        expectNoSecret(r.stdout + r.stderr, where);
      }
    }
  });
});
