import {
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreError, type ProgressEvent } from "@streamflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SOURCE_FILES,
  type ColumnSpec,
  type SourceFileName,
} from "../schema.ts";
import {
  generateData,
  MAX_SYNTHETIC_MONTHS,
  MAX_SYNTHETIC_USERS,
  type GenerateDataOptions,
  type GenerateDataResult,
} from "./index.ts";
import { parseCalendarDay, type CalendarDay } from "@streamflow/core";

const FIRST_AS_OF = parseCalendarDay("2024-01-31");
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "streamflow-synthetic-"));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function generate(
  overrides: Partial<GenerateDataOptions> = {},
): Promise<GenerateDataResult> {
  return generateData({
    outDir: await tempDir(),
    users: 2000,
    months: 2,
    seed: 42,
    firstAsOf: FIRST_AS_OF,
    ...overrides,
  });
}

type Table = { header: string[]; rows: string[][]; text: string };

async function readCsv(
  outDir: string,
  month: string,
  file: SourceFileName,
): Promise<Table> {
  const text = await readFile(join(outDir, month, `${file}.csv`), "latin1");
  const lines = text.split("\n");
  // The file ends with a newline, so the last element is empty.
  expect(lines.pop()).toBe("");
  const [header = "", ...body] = lines;
  return {
    header: header.split(","),
    rows: body.map((l) => l.split(",")),
    text,
  };
}

function column(table: Table, name: string): string[] {
  const i = table.header.indexOf(name);
  if (i < 0) throw new Error(`no column ${name}`);
  return table.rows.map((r) => r[i]!);
}

const TEXT_VALUES: Record<string, readonly string[]> = {
  user_gender: ["Male", "Female"],
  contract_type: ["Month-to-month", "One year", "Two year"],
  net_service: ["Fiber optic", "DSL", "No"],
};

/** The lab's text form of each column type; returns why `value` does not fit, or undefined. */
function formatProblem(c: ColumnSpec, value: string): string | undefined {
  if (value === "")
    return c.nullable ? undefined : "empty in a non-nullable column";
  switch (c.type) {
    case "boolean":
      return value === "True" || value === "False"
        ? undefined
        : "not True/False";
    case "integer":
      return /^[0-9]+$/.test(value) ? undefined : "not a non-negative integer";
    case "double":
      return /^[0-9]+\.[0-9]+$/.test(value) ? undefined : "not a plain decimal";
    case "date": {
      const ok =
        /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value) &&
        new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
      return ok ? undefined : "not a calendar date";
    }
    case "text":
      return TEXT_VALUES[c.name]?.includes(value) === false
        ? "unexpected category"
        : undefined;
  }
}

describe("generateData: format", () => {
  let result: GenerateDataResult;
  const tables = new Map<string, Table>();

  beforeAll(async () => {
    result = await generate({ users: 5000, months: 2 });
    for (const month of ["month_000", "month_001"]) {
      for (const spec of SOURCE_FILES) {
        tables.set(
          `${month}/${spec.name}`,
          await readCsv(result.outDir, month, spec.name),
        );
      }
    }
  });

  const table = (month: string, file: SourceFileName): Table =>
    tables.get(`${month}/${file}`)!;

  it("writes six CSVs per month and months.json, and nothing else", async () => {
    expect((await readdir(result.outDir)).sort()).toEqual([
      "month_000",
      "month_001",
      "months.json",
    ]);
    const expected = SOURCE_FILES.map((f) => `${f.name}.csv`).sort();
    expect((await readdir(join(result.outDir, "month_000"))).sort()).toEqual(
      expected,
    );
    expect((await readdir(join(result.outDir, "month_001"))).sort()).toEqual(
      expected,
    );
    expect(result.files).toBe(13);
    let bytes = (await stat(join(result.outDir, "months.json"))).size;
    for (const month of ["month_000", "month_001"]) {
      for (const spec of SOURCE_FILES) {
        bytes += (await stat(join(result.outDir, month, `${spec.name}.csv`)))
          .size;
      }
    }
    expect(result.bytes).toBe(bytes);
    expect(result.users).toBe(5000);
    expect(result.months.map((m) => m.rows)).toEqual([5000, 5000]);
  });

  it.each(SOURCE_FILES.map((f) => [f.name, f] as const))(
    "%s.csv has the schema's header, one row per user and the lab's value formats",
    (_name, spec) => {
      for (const month of ["month_000", "month_001"]) {
        const t = table(month, spec.name);
        expect(t.header).toEqual([
          "user_id",
          ...spec.columns.map((c) => c.name),
        ]);
        expect(t.rows).toHaveLength(5000);
        expect(t.text.startsWith("\uFEFF")).toBe(false);
        expect(t.text).not.toMatch(/[\r"]/);
        const problems: string[] = [];
        for (const [line, row] of t.rows.entries()) {
          if (row.length !== spec.columns.length + 1)
            problems.push(`line ${line + 2}: width`);
          if (!/^[0-9]{4}-[A-Z]{5}$/.test(row[0]!))
            problems.push(`line ${line + 2}: ${row[0]}`);
          spec.columns.forEach((c, i) => {
            const why = formatProblem(c, row[i + 1]!);
            if (why)
              problems.push(
                `line ${line + 2} ${c.name}='${row[i + 1]}': ${why}`,
              );
          });
        }
        expect(problems.slice(0, 5)).toEqual([]);
      }
    },
  );

  it("lists unique users in the same order in every file and month", () => {
    const ids = column(table("month_000", "users"), "user_id");
    expect(new Set(ids).size).toBe(ids.length);
    for (const month of ["month_000", "month_001"]) {
      for (const spec of SOURCE_FILES) {
        expect(column(table(month, spec.name), "user_id")).toEqual(ids);
      }
    }
  });

  it("leaves plan_stream_* empty exactly when net_service is No", () => {
    const subs = table("month_000", "subscriptions");
    const net = column(subs, "net_service");
    for (const name of ["plan_stream_tv", "plan_stream_movies"]) {
      const plan = column(subs, name);
      const mismatched = plan.filter(
        (v, i) => (v === "") !== (net[i] === "No"),
      );
      expect(mismatched).toEqual([]);
    }
    expect(net.filter((n) => n === "No").length).toBeGreaterThan(0);
  });

  it("keeps values in the lab's ranges", () => {
    const subs = table("month_000", "subscriptions");
    const months = column(subs, "months_active").map(Number);
    const fees = column(subs, "monthly_fee");
    const paid = column(subs, "total_paid");
    expect(Math.min(...months)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...months)).toBeLessThanOrEqual(72);
    for (const fee of fees) {
      expect(fee).toMatch(/^[0-9]+\.[0-9]{1,2}$/);
      expect(Number(fee)).toBeGreaterThanOrEqual(18.25);
      expect(Number(fee)).toBeLessThanOrEqual(118.75);
    }
    months.forEach((m, i) => {
      if (m === 0) expect(paid[i]).toBe("0.0");
      // ≈ fee × months, within the lab's spread of past fees.
      else
        expect(Number(paid[i]) / (Number(fees[i]) * m)).toBeGreaterThanOrEqual(
          0.69,
        );
    });

    const signups = column(table("month_000", "users"), "signup_date");
    expect(signups.every((d) => d >= "2022-01-01" && d <= "2022-02-06")).toBe(
      true,
    );

    const usage = table("month_000", "usage_agg_30d");
    expect(new Set(column(usage, "avg_session_mins_7d"))).toEqual(
      new Set(["29.14104464084511"]),
    );
    const hours = column(usage, "watch_hours_30d").map(Number);
    expect(Math.min(...hours)).toBeGreaterThanOrEqual(5.75);
    expect(Math.max(...hours)).toBeLessThanOrEqual(50.84);
    // Full precision, like the lab, not rounded.
    expect(column(usage, "watch_hours_30d").some((h) => h.length >= 17)).toBe(
      true,
    );
    expect(new Set(column(usage, "unique_devices_30d"))).toEqual(
      new Set(["1", "2", "3"]),
    );
    expect(
      Math.max(...column(usage, "skips_7d").map(Number)),
    ).toBeLessThanOrEqual(14);
    expect(
      Math.max(...column(usage, "rebuffer_events_7d").map(Number)),
    ).toBeLessThanOrEqual(9);

    for (const hrs of column(
      table("month_000", "support_agg_90d"),
      "ticket_avg_resolution_hrs_90d",
    )) {
      expect(hrs).toMatch(/^[0-9]+\.[0-9]$/);
      expect(Number(hrs)).toBeGreaterThanOrEqual(1);
      expect(Number(hrs)).toBeLessThanOrEqual(24.9);
    }
  });
});

describe("generateData: months.json", () => {
  it.each([
    ["2024-01-31", ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]],
    ["2023-12-31", ["2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"]],
    ["2023-01-31", ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30"]],
    ["2099-11-30", ["2099-11-30", "2099-12-31", "2100-01-31", "2100-02-28"]],
  ])("from %s lists each month's directory and as_of", async (first, asOfs) => {
    const result = await generate({
      users: 3,
      months: 4,
      firstAsOf: parseCalendarDay(first),
    });
    const json = await readFile(join(result.outDir, "months.json"), "utf8");
    const dirs = ["month_000", "month_001", "month_002", "month_003"];
    expect(JSON.parse(json)).toEqual({
      months: dirs.map((dir, i) => ({ dir, as_of: asOfs[i] })),
    });
    expect(result.months.map((m) => m.asOf)).toEqual(asOfs);
    expect(result.months.map((m) => m.dir)).toEqual(dirs);
  });
});

async function fileBytes(outDir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  out.set("months.json", await readFile(join(outDir, "months.json")));
  for (const month of (await readdir(outDir)).filter((d) =>
    d.startsWith("month_"),
  )) {
    for (const file of await readdir(join(outDir, month))) {
      out.set(`${month}/${file}`, await readFile(join(outDir, month, file)));
    }
  }
  return out;
}

describe("generateData: determinism", () => {
  it("writes byte-identical files for the same options", async () => {
    const a = await fileBytes((await generate({ users: 3000 })).outDir);
    const b = await fileBytes((await generate({ users: 3000 })).outDir);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, bytes] of a)
      expect(bytes.equals(b.get(name)!), name).toBe(true);
  });

  it("writes different users for a different seed", async () => {
    const a = await fileBytes((await generate({ users: 500, seed: 1 })).outDir);
    const b = await fileBytes((await generate({ users: 500, seed: 2 })).outDir);
    for (const spec of SOURCE_FILES) {
      expect(
        a
          .get(`month_000/${spec.name}.csv`)!
          .equals(b.get(`month_000/${spec.name}.csv`)!),
      ).toBe(false);
    }
  });

  it("gives a user the same rows whatever the user count (chunking cannot matter)", async () => {
    // 9000 users span several internal chunks; 1000 fit in the first.
    const small = await generate({ users: 1000 });
    const large = await generate({ users: 9000 });
    for (const month of ["month_000", "month_001"]) {
      for (const spec of SOURCE_FILES) {
        const s = await readCsv(small.outDir, month, spec.name);
        const l = await readCsv(large.outDir, month, spec.name);
        expect(l.rows.slice(0, 1000)).toEqual(s.rows);
      }
    }
    // Every user has its own stream: no two users share their measurements.
    const hours = column(
      await readCsv(large.outDir, "month_000", "usage_agg_30d"),
      "watch_hours_30d",
    );
    expect(new Set(hours).size).toBe(9000);
  });
});

describe("generateData: month-to-month drift", () => {
  let outDir: string;
  const months = ["month_000", "month_001", "month_002"];

  beforeAll(async () => {
    outDir = (await generate({ users: 5000, months: 3 })).outDir;
  });

  it("keeps users.csv and subscriptions.csv byte-identical", async () => {
    for (const file of ["users.csv", "subscriptions.csv"]) {
      const first = await readFile(join(outDir, "month_000", file));
      for (const month of months.slice(1)) {
        expect(
          first.equals(await readFile(join(outDir, month, file))),
          `${month}/${file}`,
        ).toBe(true);
      }
    }
  });

  it("only raises rebuffers, failed payments and tickets, and moves watch hours slightly", async () => {
    for (let m = 1; m < months.length; m++) {
      const [prevUsage, usage, prevPay, pay, prevSupport, support] =
        await Promise.all([
          readCsv(outDir, months[m - 1]!, "usage_agg_30d"),
          readCsv(outDir, months[m]!, "usage_agg_30d"),
          readCsv(outDir, months[m - 1]!, "payments_agg_90d"),
          readCsv(outDir, months[m]!, "payments_agg_90d"),
          readCsv(outDir, months[m - 1]!, "support_agg_90d"),
          readCsv(outDir, months[m]!, "support_agg_90d"),
        ]);
      const delta = (a: Table, b: Table, name: string) => {
        const before = column(a, name).map(Number);
        return column(b, name).map((v, i) => Number(v) - before[i]!);
      };

      const rebuffer = delta(prevUsage, usage, "rebuffer_events_7d");
      expect(Math.min(...rebuffer)).toBeGreaterThanOrEqual(0);
      expect(
        rebuffer.filter((d) => d > 0).length / rebuffer.length,
      ).toBeGreaterThan(0.15);

      for (const [a, b, name] of [
        [prevPay, pay, "failed_payments_90d"],
        [prevSupport, support, "support_tickets_90d"],
      ] as const) {
        const d = delta(a, b, name);
        expect(
          d.every((x) => x === 0 || x === 1),
          name,
        ).toBe(true);
        expect(d.filter((x) => x === 1).length, name).toBeGreaterThan(50);
      }

      const before = column(prevUsage, "watch_hours_30d").map(Number);
      const ratios = column(usage, "watch_hours_30d").map(
        (v, i) => Number(v) / before[i]!,
      );
      expect(ratios.every((r) => r >= 0.85 && r <= 1.09 && r !== 1)).toBe(true);
      const meanRatio = ratios.reduce((s, r) => s + r, 0) / ratios.length;
      expect(meanRatio).toBeGreaterThan(0.97);
      expect(meanRatio).toBeLessThan(0.99);

      for (const name of [
        "avg_session_mins_7d",
        "unique_devices_30d",
        "skips_7d",
      ]) {
        expect(column(usage, name)).toEqual(column(prevUsage, name));
      }
      expect(column(support, "ticket_avg_resolution_hrs_90d")).toEqual(
        column(prevSupport, "ticket_avg_resolution_hrs_90d"),
      );
    }
  });
});

/** Mann–Whitney AUC of `score` for the positive class. */
function auc(score: readonly number[], positive: readonly boolean[]): number {
  const order = score
    .map((s, i) => [s, i] as const)
    .sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let pos = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const meanRank = (i + j + 1) / 2;
    for (let k = i; k < j; k++) {
      if (positive[order[k]![1]]) {
        rankSum += meanRank;
        pos += 1;
      }
    }
    i = j;
  }
  const neg = order.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

describe("generateData: churn signal", () => {
  it("follows contract, tenure, fiber, watch hours and tickets, at a base rate near 25 %", async () => {
    const { outDir } = await generate({ users: 20_000, months: 2 });
    const subs = await readCsv(outDir, "month_000", "subscriptions");
    const contract = column(subs, "contract_type");
    const tenure = column(subs, "months_active").map(Number);
    const fiber = column(subs, "net_service").map((n) =>
      n === "Fiber optic" ? 1 : 0,
    );
    for (const month of ["month_000", "month_001"]) {
      const churn = column(
        await readCsv(outDir, month, "labels"),
        "churn_label",
      ).map((v) => v === "True");
      const usage = await readCsv(outDir, month, "usage_agg_30d");
      const support = await readCsv(outDir, month, "support_agg_90d");
      const rate = (keep: (i: number) => boolean) => {
        const idx = churn.map((_, i) => i).filter(keep);
        return idx.filter((i) => churn[i]).length / idx.length;
      };

      const overall = rate(() => true);
      expect(overall, month).toBeGreaterThan(0.2);
      expect(overall, month).toBeLessThan(0.3);
      expect(rate((i) => contract[i] === "Month-to-month")).toBeGreaterThan(
        3 * rate((i) => contract[i] === "Two year"),
      );
      expect(auc(tenure, churn)).toBeLessThan(0.32);
      expect(auc(fiber, churn)).toBeGreaterThan(0.62);
      expect(
        auc(column(usage, "watch_hours_30d").map(Number), churn),
      ).toBeLessThan(0.45);
      expect(
        auc(column(support, "support_tickets_90d").map(Number), churn),
      ).toBeGreaterThan(0.53);
    }
  });
});

describe("generateData: options", () => {
  // Every case here must fail before writing anything; if one does not, its files land in a
  // temporary directory that is cleaned up.
  const valid = {
    outDir: "",
    users: 10,
    months: 1,
    seed: 1,
    firstAsOf: FIRST_AS_OF,
  };
  beforeAll(async () => {
    valid.outDir = join(await tempDir(), "never-created");
  });

  it.each<[string, Partial<GenerateDataOptions>, string]>([
    [
      "zero users",
      { users: 0 },
      "users must be an integer from 1 to 20000000, got '0'",
    ],
    ["fractional users", { users: 2.5 }, "got '2.5'"],
    ["too many users", { users: MAX_SYNTHETIC_USERS + 1 }, "got '20000001'"],
    ["NaN users", { users: Number.NaN }, "got 'NaN'"],
    [
      "zero months",
      { months: 0 },
      "months must be an integer from 1 to 1000, got '0'",
    ],
    ["too many months", { months: MAX_SYNTHETIC_MONTHS + 1 }, "got '1001'"],
    [
      "a fractional seed",
      { seed: 0.5 },
      "seed must be a safe integer, got '0.5'",
    ],
    ["an unsafe seed", { seed: 2 ** 53 }, "got '9007199254740992'"],
    [
      "a mid-month firstAsOf",
      { firstAsOf: parseCalendarDay("2024-01-30") },
      "firstAsOf must be the last day of a month (YYYY-MM-DD), got '2024-01-30'",
    ],
    [
      "a firstAsOf with a time",
      { firstAsOf: "2024-01-31T12:00" as CalendarDay },
      "got '2024-01-31T12:00'",
    ],
    [
      "a Feb 28 in a leap year",
      { firstAsOf: parseCalendarDay("2024-02-28") },
      "2024-02-28",
    ],
    [
      "an invalid date",
      { firstAsOf: "2024-02-30" as CalendarDay },
      "got '2024-02-30'",
    ],
    [
      "a date past 9999",
      { firstAsOf: parseCalendarDay("9999-12-31"), months: 2 },
      "9999",
    ],
    ["an empty outDir", { outDir: "" }, "outDir must be a non-empty path"],
  ])("rejects %s with INVALID_ARGUMENT", async (_what, override, message) => {
    const error = await generateData({ ...valid, ...override }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).code).toBe("INVALID_ARGUMENT");
    expect((error as CoreError).message).toContain(message);
    expect((error as CoreError).hint).toBeTruthy();
  });

  it("writes nothing when an option is invalid", async () => {
    const outDir = join(await tempDir(), "out");
    await expect(generateData({ ...valid, outDir, users: -1 })).rejects.toThrow(
      CoreError,
    );
    await expect(stat(outDir)).rejects.toThrow(/ENOENT/);
  });

  it("reports when it cannot create the output directory", async () => {
    const file = join(await tempDir(), "a-file");
    await writeFile(file, "");
    const blocked = join(file, "out");
    const error = await generateData({ ...valid, outDir: blocked }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CoreError);
    expect((error as CoreError).code).toBe("INVALID_ARGUMENT");
    expect((error as CoreError).message).toContain(blocked);
  });

  it("reports progress per month up to the user count", async () => {
    const events: ProgressEvent[] = [];
    await generate({
      users: 10_000,
      months: 2,
      onProgress: (e) => events.push(e),
    });
    for (const phase of ["generate month_000", "generate month_001"]) {
      const done = events.filter((e) => e.phase === phase).map((e) => e.done);
      expect(done.length).toBeGreaterThan(1);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(done.at(-1)).toBe(10_000);
    }
    expect(events.every((e) => e.total === 10_000)).toBe(true);
  });
});
