import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  LAB_HEADERS,
  monthFixture,
  TEST_ENGINES,
  writeMonth,
  type TestDatabase,
} from "@streamflow/test-utils";
import { openDatabase } from "@streamflow/features";
import { runCli } from "./run-cli.ts";

const users = [
  { id: "0001-AAAAA" },
  { id: "0002-BBBBB", net: "No" as const },
  { id: "0003-CCCCC", churn: true },
];
/** Raw CSV text of one file of the valid fixture, for targeted corruption. */
function csv(file: string, rows: string[][]): string {
  return (
    [LAB_HEADERS[file]!.join(","), ...rows.map((r) => r.join(","))].join("\n") +
    "\n"
  );
}

const valid = monthFixture(users);
const rowsOf = (file: string) => valid[file]!.map((r) => [...r]);
function edit(file: string, row: number, col: number, value: string): string {
  const rows = rowsOf(file);
  rows[row]![col] = value;
  return csv(file, rows);
}

interface BadCase {
  name: string;
  files: Record<string, string | Buffer>;
  expect: {
    file: string;
    line: number;
    column: string;
    value: string;
    rule: string;
  };
}

const CASES: BadCase[] = [
  {
    name: "a missing column",
    files: {
      usage_agg_30d:
        "user_id,watch_hours_30d,avg_session_mins_7d,unique_devices_30d,skips_7d\n0001-AAAAA,1,2,3,4\n",
    },
    expect: {
      file: "usage_agg_30d.csv",
      line: 1,
      column: "(header)",
      value: "user_id,watch_hours_30d",
      rule: "header_columns",
    },
  },
  {
    name: "an unexpected column",
    files: { labels: "user_id,churn_label,extra\n0001-AAAAA,True,1\n" },
    expect: {
      file: "labels.csv",
      line: 1,
      column: "(header)",
      value: "user_id,churn_label,extra",
      rule: "header_columns",
    },
  },
  {
    name: "a row with too many fields",
    files: {
      payments_agg_90d: csv("payments_agg_90d", [
        ["0001-AAAAA", "0", "9"],
        ...rowsOf("payments_agg_90d").slice(1),
      ]),
    },
    expect: {
      file: "payments_agg_90d.csv",
      line: 2,
      column: "(line)",
      value: "0001-AAAAA,0,9",
      rule: "field_count",
    },
  },
  {
    name: "an empty line inside the data",
    files: {
      labels:
        "user_id,churn_label\n0001-AAAAA,True\n\n0002-BBBBB,False\n0003-CCCCC,True\n",
    },
    expect: {
      file: "labels.csv",
      line: 3,
      column: "(line)",
      value: "",
      rule: "empty_line",
    },
  },
  {
    name: "a header without rows",
    files: { users: csv("users", []) },
    expect: {
      file: "users.csv",
      line: 2,
      column: "(line)",
      value: "",
      rule: "rows_required",
    },
  },
  {
    name: "an empty user_id",
    files: { labels: edit("labels", 1, 0, "") },
    expect: {
      file: "labels.csv",
      line: 3,
      column: "user_id",
      value: "",
      rule: "user_id_required",
    },
  },
  {
    name: "a duplicate user_id",
    files: { support_agg_90d: edit("support_agg_90d", 2, 0, "0001-AAAAA") },
    expect: {
      file: "support_agg_90d.csv",
      line: 4,
      column: "user_id",
      value: "0001-AAAAA",
      rule: "user_id_unique",
    },
  },
  {
    name: "a user missing from users.csv",
    files: { labels: edit("labels", 2, 0, "9999-ZZZZZ") },
    expect: {
      file: "labels.csv",
      line: 4,
      column: "user_id",
      value: "9999-ZZZZZ",
      rule: "user_exists",
    },
  },
  {
    name: "an empty non-nullable number",
    files: { subscriptions: edit("subscriptions", 0, 6, "") },
    expect: {
      file: "subscriptions.csv",
      line: 2,
      column: "monthly_fee",
      value: "",
      rule: "not_null",
    },
  },
  {
    name: "an empty non-nullable boolean",
    files: { users: edit("users", 1, 3, "") },
    expect: {
      file: "users.csv",
      line: 3,
      column: "user_is_senior",
      value: "",
      rule: "not_null",
    },
  },
  {
    name: "a boolean that is not True/False",
    files: { subscriptions: edit("subscriptions", 2, 5, "yes") },
    expect: {
      file: "subscriptions.csv",
      line: 4,
      column: "paperless_billing",
      value: "yes",
      rule: "boolean",
    },
  },
  {
    name: "a fractional count",
    files: { usage_agg_30d: edit("usage_agg_30d", 0, 4, "3.5") },
    expect: {
      file: "usage_agg_30d.csv",
      line: 2,
      column: "skips_7d",
      value: "3.5",
      rule: "integer",
    },
  },
  {
    name: "a non-numeric amount",
    files: {
      subscriptions: edit("subscriptions", 1, 7, "12,5".replace(",", "x")),
    },
    expect: {
      file: "subscriptions.csv",
      line: 3,
      column: "total_paid",
      value: "12x5",
      rule: "number",
    },
  },
  {
    name: "a negative count",
    files: { payments_agg_90d: edit("payments_agg_90d", 2, 1, "-1") },
    expect: {
      file: "payments_agg_90d.csv",
      line: 4,
      column: "failed_payments_90d",
      value: "-1",
      rule: "non_negative",
    },
  },
  {
    name: "a negative duration",
    files: { usage_agg_30d: edit("usage_agg_30d", 1, 1, "-2.5") },
    expect: {
      file: "usage_agg_30d.csv",
      line: 3,
      column: "watch_hours_30d",
      value: "-2.5",
      rule: "non_negative",
    },
  },
  {
    name: "an impossible calendar date",
    files: { users: edit("users", 0, 1, "2023-02-30") },
    expect: {
      file: "users.csv",
      line: 2,
      column: "signup_date",
      value: "2023-02-30",
      rule: "date",
    },
  },
  {
    name: "a date in another format",
    files: { users: edit("users", 2, 1, "15/01/2022") },
    expect: {
      file: "users.csv",
      line: 4,
      column: "signup_date",
      value: "15/01/2022",
      rule: "date",
    },
  },
  {
    name: "a NUL byte in a text field",
    files: { users: edit("users", 1, 2, "Fe\0male") },
    expect: {
      file: "users.csv",
      line: 3,
      column: "user_gender",
      value: "",
      rule: "nul",
    },
  },
  {
    name: "a NUL byte in a user id",
    files: { labels: edit("labels", 0, 0, "0001-AAAAA\0") },
    expect: {
      file: "labels.csv",
      line: 2,
      column: "user_id",
      value: "0001-AAAAA",
      rule: "nul",
    },
  },
  {
    name: "a 10 MB user id",
    files: { users: edit("users", 2, 0, "7".repeat(10 * 1024 * 1024)) },
    expect: {
      file: "users.csv",
      line: 4,
      column: "user_id",
      value: "7777777777",
      rule: "max_length",
    },
  },
  {
    name: "a 65-character user id",
    files: { users: edit("users", 0, 0, "A".repeat(65)) },
    expect: {
      file: "users.csv",
      line: 2,
      column: "user_id",
      value: "AAAAAAAAAA",
      rule: "max_length",
    },
  },
  {
    name: "invalid UTF-8",
    files: {
      subscriptions: Buffer.from(
        edit("subscriptions", 1, 4, "Mes-a-m\u00e9s"),
        "latin1",
      ),
    },
    expect: {
      file: "subscriptions.csv",
      line: 3,
      column: "contract_type",
      value: "Mes-a-m",
      rule: "utf8",
    },
  },
  {
    name: "a quote inside an unquoted field",
    files: { subscriptions: edit("subscriptions", 2, 8, 'DSL"') },
    expect: {
      file: "subscriptions.csv",
      line: 4,
      column: "net_service",
      value: 'DSL"',
      rule: "csv_quote",
    },
  },
  {
    name: "a quote never closed",
    files: {
      labels:
        'user_id,churn_label\n0001-AAAAA,True\n"0002-BBBBB,False\n0003-CCCCC,True\n',
    },
    expect: {
      file: "labels.csv",
      line: 3,
      column: "user_id",
      value: "0002-BBBBB",
      rule: "csv_quote",
    },
  },
  {
    name: "a bad value after a quoted line break",
    files: {
      subscriptions: csv("subscriptions", [
        [
          "0001-AAAAA",
          "12",
          "True",
          "False",
          '"Month-to-\nmonth"',
          "True",
          "29.85",
          "358.2",
          "DSL",
        ],
        ["0002-BBBBB", "x", "", "", "Two year", "True", "1", "1", "No"],
        ...rowsOf("subscriptions").slice(2),
      ]),
    },
    expect: {
      file: "subscriptions.csv",
      line: 4,
      column: "months_active",
      value: "x",
      rule: "integer",
    },
  },
];

/** The same month as a quoting export tool writes it: every field quoted, CRLF. */
function quotedMonth(): Record<string, string> {
  const q = (f: string) => `"${f.replace(/"/g, '""')}"`;
  return Object.fromEntries(
    Object.keys(LAB_HEADERS).map((name) => [
      name,
      [LAB_HEADERS[name]!, ...rowsOf(name)]
        .map((r) => r.map(q).join(","))
        .join("\r\n") + "\r\n",
    ]),
  );
}

async function writeBadMonth(
  dir: string,
  files: Record<string, string | Buffer>,
): Promise<string> {
  await writeMonth(dir, valid);
  for (const [name, content] of Object.entries(files))
    await writeFile(join(dir, `${name}.csv`), content);
  return dir;
}

async function dumpState(
  url: string | undefined,
  dataDir: string | undefined,
  options: { source?: boolean } = {},
): Promise<string> {
  const db = await openDatabase({ url, dataDir });
  try {
    const tables = [
      "users",
      "subscriptions",
      "usage_agg_30d",
      "payments_agg_90d",
      "support_agg_90d",
      "labels",
      "subscriptions_profile_snapshots",
      "usage_agg_30d_snapshots",
      "payments_agg_90d_snapshots",
      "support_agg_90d_snapshots",
      "labels_snapshots",
      "ingestions",
    ];
    const parts: string[] = [];
    for (const t of tables) {
      const rows = await db.query(`SELECT * FROM ${t} ORDER BY 1, 2`);
      parts.push(
        `${t}:${JSON.stringify(rows.map((r) => ({ ...r, ingested_at: undefined, ...(options.source === false ? { source: undefined } : {}) })))}`,
      );
    }
    return parts.join("\n");
  } finally {
    await db.close();
  }
}

describe.each(TEST_ENGINES)("ingest refuses bad input on %s", (engine) => {
  let target: TestDatabase;
  let work: string;
  let env: Record<string, string | undefined>;
  let before: string;
  const dataDir = () =>
    engine === "pglite" ? join(work, "home", "pgdata") : undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sf-bad-"));
    target = await createTestDatabase(engine);
    env = {
      STREAMFLOW_DATABASE_URL: target.url,
      STREAMFLOW_HOME: join(work, "home"),
    };
    const ok = await runCli(
      [
        "ingest",
        "--month-dir",
        await writeMonth(join(work, "good"), valid),
        "--as-of",
        "2024-01-31",
      ],
      env,
      work,
    );
    expect(ok.exitCode, ok.stderr).toBe(0);
    before = await dumpState(target.url, dataDir());
  });
  afterAll(async () => {
    await target[Symbol.asyncDispose]();
  });

  it.each(CASES)(
    "$name → exit 4, named cell, database unchanged",
    async (c) => {
      const dir = await writeBadMonth(
        join(work, c.expect.rule + Math.random().toString(36).slice(2)),
        c.files,
      );
      const run = await runCli(
        ["ingest", "--month-dir", dir, "--as-of", "2024-02-29", "--json"],
        env,
        work,
      );
      expect(run.exitCode, run.stderr).toBe(4);
      const { file, line, column, value, rule } = c.expect;
      expect(run.stderr).toContain(`${file} line ${line}, column ${column}`);
      expect(run.stderr).toContain(`[rule ${rule}]`);
      if (value !== "") expect(run.stderr).toContain(value);
      const error = run.json()["error"] as {
        code: string;
        details: { errors: Record<string, unknown>[] };
      };
      expect(error.code).toBe("INPUT_INVALID");
      expect(error.details.errors[0]).toMatchObject({
        file,
        line,
        column,
        rule,
      });
      expect(error.details.errors[0]!["value"]).toContain(value);
      expect(await dumpState(target.url, dataDir())).toBe(before);
    },
  );

  it("a missing file → exit 4 naming it (a bad month, not a bad invocation), database unchanged", async () => {
    const dir = await writeMonth(join(work, "missing"), valid);
    await rm(join(dir, "labels.csv"));
    const run = await runCli(
      ["ingest", "--month-dir", dir, "--as-of", "2024-02-29", "--json"],
      env,
      work,
    );
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain("labels.csv is missing");
    expect(run.json()["error"]).toMatchObject({
      code: "INPUT_INVALID",
      details: { errors: [{ file: "labels.csv", rule: "file_missing" }] },
    });
    expect(await dumpState(target.url, dataDir())).toBe(before);
  });

  it("a month directory that does not exist stays a usage error → exit 2", async () => {
    const run = await runCli(
      [
        "ingest",
        "--month-dir",
        join(work, "no-such-month"),
        "--as-of",
        "2024-02-29",
      ],
      env,
      work,
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("does not exist");
  });

  it.each([
    [
      "a directory",
      (p: string) => mkdir(p),
      "is a directory, not a regular file",
    ],
    [
      "a symlink loop",
      (p: string) => symlink("users.csv", p),
      "is a symbolic link loop, not a regular file",
    ],
  ])(
    "%s named users.csv → exit 4 'not a regular file', not 'missing'",
    async (_kind, make, says) => {
      const dir = await writeMonth(
        join(work, `irregular-${Math.random().toString(36).slice(2)}`),
        valid,
      );
      await rm(join(dir, "users.csv"));
      await make(join(dir, "users.csv"));
      const run = await runCli(
        ["ingest", "--month-dir", dir, "--as-of", "2024-02-29"],
        env,
        work,
      );
      expect(run.exitCode, run.stderr).toBe(4);
      expect(run.stderr).toContain(`users.csv ${says}`);
      expect(run.stderr).not.toContain("missing");
      expect(await dumpState(target.url, dataDir())).toBe(before);
    },
  );

  it("reads a quoting export (every field quoted) as the same month: a no-op at the same date", async () => {
    const dir = await writeMonth(join(work, "quoted"), valid, quotedMonth());
    const run = await runCli(
      ["ingest", "--month-dir", dir, "--as-of", "2024-01-31", "--json"],
      env,
      work,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()["noop"]).toBe(true);
  });

  it("accepts CRLF line ends and a UTF-8 BOM, storing the same content", async () => {
    const files: Record<string, string> = {};
    for (const name of Object.keys(valid))
      files[name] = "\uFEFF" + csv(name, rowsOf(name)).replace(/\n/g, "\r\n");
    const dir = await writeMonth(join(work, "crlf"), valid, files);
    const run = await runCli(
      ["ingest", "--month-dir", dir, "--as-of", "2024-01-31", "--json"],
      env,
      work,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()["noop"]).toBe(true); // same data as the LF month already ingested at this date
  });
});

describe.each(TEST_ENGINES)("ingest on a fresh %s database", (engine) => {
  const fresh = async () => {
    const work = await mkdtemp(join(tmpdir(), "sf-fresh-"));
    const target = await createTestDatabase(engine);
    const home = join(work, "home");
    return {
      work,
      target,
      env: { STREAMFLOW_DATABASE_URL: target.url, STREAMFLOW_HOME: home },
      dataDir: engine === "pglite" ? join(home, "pgdata") : undefined,
    };
  };

  it("stores identical tables and snapshots from a quoting export and an unquoted one", async () => {
    const plain = await fresh();
    const quoted = await fresh();
    try {
      const a = await runCli(
        [
          "ingest",
          "--month-dir",
          await writeMonth(join(plain.work, "m"), valid),
          "--as-of",
          "2024-01-31",
          "--json",
        ],
        plain.env,
        plain.work,
      );
      const b = await runCli(
        [
          "ingest",
          "--month-dir",
          await writeMonth(join(quoted.work, "m"), valid, quotedMonth()),
          "--as-of",
          "2024-01-31",
          "--json",
        ],
        quoted.env,
        quoted.work,
      );
      expect(a.exitCode, a.stderr).toBe(0);
      expect(b.exitCode, b.stderr).toBe(0);
      expect(b.json()["content_sha256"]).toBe(a.json()["content_sha256"]);
      const dumpA = await dumpState(plain.target.url, plain.dataDir, {
        source: false,
      });
      expect(dumpA).toContain("Month-to-month");
      expect(dumpA).not.toContain('\\"Month');
      expect(
        await dumpState(quoted.target.url, quoted.dataDir, { source: false }),
      ).toBe(dumpA);
    } finally {
      await plain.target[Symbol.asyncDispose]();
      await quoted.target[Symbol.asyncDispose]();
    }
  });

  it("a value the database refuses (class 22) → exit 4 with the cause, not 'transaction is aborted', nothing written", async () => {
    const f = await fresh();
    try {
      const ok = await runCli(
        [
          "ingest",
          "--month-dir",
          await writeMonth(join(f.work, "m1"), valid),
          "--as-of",
          "2024-01-31",
        ],
        f.env,
        f.work,
      );
      expect(ok.exitCode, ok.stderr).toBe(0);
      // A stricter column than ours (a DBA's change): only the database knows "Female" no longer fits.
      const db = await openDatabase({ url: f.target.url, dataDir: f.dataDir });
      try {
        await db.exec(
          "ALTER TABLE users ALTER COLUMN user_gender TYPE varchar(3) USING left(user_gender, 3)",
        );
      } finally {
        await db.close();
      }
      const before = await dumpState(f.target.url, f.dataDir);
      const run = await runCli(
        [
          "ingest",
          "--month-dir",
          await writeMonth(join(f.work, "m2"), valid),
          "--as-of",
          "2024-02-29",
          "--json",
        ],
        f.env,
        f.work,
      );
      expect(run.exitCode, run.stderr).toBe(4);
      expect(run.stderr).toContain(
        "value too long for type character varying(3)",
      );
      expect(run.stderr).not.toContain("current transaction is aborted");
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(run.json()["error"]).toMatchObject({
        code: "INPUT_INVALID",
        details: { sqlstate: "22001" },
      });
      expect(await dumpState(f.target.url, f.dataDir)).toBe(before);
    } finally {
      await f.target[Symbol.asyncDispose]();
    }
  });
});
