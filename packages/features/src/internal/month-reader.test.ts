import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAB_HEADERS, monthFixture, writeMonth } from "@streamflow/test-utils";
import { readMonthDirectory } from "./month-reader.ts";
import { LAB_LAYOUT } from "../schema.ts";

const users = [
  { id: "0001-AAAAA" },
  { id: "0002-BBBBB", net: "No" as const, churn: true },
];
const fixture = monthFixture(users);
const text = (
  name: string,
  rows = fixture[name]!,
  header = LAB_HEADERS[name]!,
) => [header, ...rows].map((r) => r.join(",")).join("\n") + "\n";
const tmp = () => mkdtemp(join(tmpdir(), "sf-reader-"));

describe("readMonthDirectory", () => {
  it("converts rows to COPY text in table column order, NULL as \\N", async () => {
    const month = await readMonthDirectory(
      await writeMonth(await tmp(), fixture),
      LAB_LAYOUT,
    );
    const subs = month.files.find((f) => f.name === "subscriptions")!;
    expect(subs.rows).toBe(2);
    expect(subs.copyChunks.join("")).toBe(
      "0001-AAAAA\t12\tt\tf\tMonth-to-month\tt\t29.85\t358.2\tDSL\n0002-BBBBB\t12\t\\N\t\\N\tMonth-to-month\tt\t29.85\t358.2\tNo\n",
    );
    expect(month.files.map((f) => f.name)).toEqual([
      "users",
      "subscriptions",
      "usage_agg_30d",
      "payments_agg_90d",
      "support_agg_90d",
      "labels",
    ]);
  });

  it("hashes content, not spelling: CRLF, BOM, column order, trailing zeros and a missing final newline", async () => {
    const plain = await readMonthDirectory(
      await writeMonth(await tmp(), fixture),
      LAB_LAYOUT,
    );
    const reordered = LAB_HEADERS["support_agg_90d"]!.slice().reverse();
    const support = fixture["support_agg_90d"]!.map((r) => r.slice().reverse());
    const raw: Record<string, string> = {
      users: "\uFEFF" + text("users").replace(/\n/g, "\r\n"),
      support_agg_90d: text("support_agg_90d", support, reordered).trimEnd(),
      usage_agg_30d: text("usage_agg_30d").replace(
        /24\.483650766787413/g,
        "2.4483650766787413e1",
      ),
    };
    const spelled = await readMonthDirectory(
      await writeMonth(await tmp(), fixture, raw),
      LAB_LAYOUT,
    );
    expect(spelled.contentSha256).toBe(plain.contentSha256);
    const changed = monthFixture([
      { id: "0001-AAAAA" },
      { id: "0002-BBBBB", net: "No", churn: false },
    ]);
    expect(
      (
        await readMonthDirectory(
          await writeMonth(await tmp(), changed),
          LAB_LAYOUT,
        )
      ).contentSha256,
    ).not.toBe(plain.contentSha256);
  });

  it("normalises equal numbers to one spelling", async () => {
    const raw = {
      support_agg_90d: text("support_agg_90d").replace(/16\.0/g, "16.000"),
    };
    const month = await readMonthDirectory(
      await writeMonth(await tmp(), fixture, raw),
      LAB_LAYOUT,
    );
    expect(
      month.files
        .find((f) => f.name === "support_agg_90d")!
        .copyChunks.join(""),
    ).toBe("0001-AAAAA\t0\t16\n0002-BBBBB\t0\t16\n");
  });

  it("reports at most 50 problems, the first one in the message", async () => {
    const rows = Array.from({ length: 80 }, (_, i) => [
      `${String(i).padStart(4, "0")}-XXXXX`,
      "not-a-number",
    ]);
    const many = monthFixture(rows.map((r) => ({ id: r[0]! })));
    const raw = { payments_agg_90d: text("payments_agg_90d", rows) };
    const error = await readMonthDirectory(
      await writeMonth(await tmp(), many, raw),
      LAB_LAYOUT,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INPUT_INVALID" });
    const details = (error as { details: { errors: unknown[] } }).details;
    expect(details.errors).toHaveLength(50);
    expect((error as Error).message).toMatch(
      /^payments_agg_90d\.csv line 2, column failed_payments_90d: value 'not-a-number' must be a whole number \[rule integer\] \(and 49 more; 50\+ problems in all\)$/,
    );
  });

  it("refuses a directory that does not exist", async () => {
    await expect(
      readMonthDirectory("/nonexistent/month", LAB_LAYOUT),
    ).rejects.toMatchObject({ code: "INPUT_NOT_FOUND" });
  });

  it("reads a quoting export as the same data as an unquoted one", async () => {
    const quoteAll = (name: string) =>
      [LAB_HEADERS[name]!, ...fixture[name]!]
        .map((r) => r.map((f) => `"${f.replace(/"/g, '""')}"`).join(","))
        .join("\r\n") + "\r\n";
    const raw = Object.fromEntries(
      Object.keys(LAB_HEADERS).map((n) => [n, quoteAll(n)]),
    );
    const plain = await readMonthDirectory(
      await writeMonth(await tmp(), fixture),
      LAB_LAYOUT,
    );
    const quoted = await readMonthDirectory(
      await writeMonth(await tmp(), fixture, raw),
      LAB_LAYOUT,
    );
    expect(quoted.contentSha256).toBe(plain.contentSha256);
    expect(quoted.files.map((f) => f.copyChunks.join(""))).toEqual(
      plain.files.map((f) => f.copyChunks.join("")),
    );
    expect(
      quoted.files.find((f) => f.name === "subscriptions")!.copyChunks.join(""),
    ).toContain("\tMonth-to-month\t");
  });

  it("stores commas, quotes and line breaks of a quoted text field as text", async () => {
    const rows = fixture["subscriptions"]!.map((r) => [...r]);
    rows[0]![4] = '"Two year, ""gold""\nplan"';
    const month = await readMonthDirectory(
      await writeMonth(await tmp(), fixture, {
        subscriptions: text("subscriptions", rows),
      }),
      LAB_LAYOUT,
    );
    expect(
      month.files.find((f) => f.name === "subscriptions")!.copyChunks.join(""),
    ).toContain('\tTwo year, "gold"\\nplan\t');
  });

  const refusal = async (raw: Record<string, string | Buffer>) => {
    const dir = await writeMonth(await tmp(), fixture);
    for (const [name, content] of Object.entries(raw))
      await writeFile(join(dir, `${name}.csv`), content);
    const error = await readMonthDirectory(dir, LAB_LAYOUT).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "INPUT_INVALID" });
    return {
      error: error as Error & {
        details: { errors: Record<string, unknown>[] };
      },
      first: (error as { details: { errors: Record<string, unknown>[] } })
        .details.errors[0]!,
    };
  };

  it.each([
    [
      "a NUL byte in a text field",
      "users",
      1,
      2,
      "in\0valid",
      { column: "user_gender", rule: "nul" },
    ],
    [
      "a NUL byte in a user id",
      "labels",
      0,
      0,
      "0001\0-AAAAA",
      { column: "user_id", rule: "nul" },
    ],
    [
      "a 65-character user id",
      "users",
      1,
      0,
      "x".repeat(65),
      { column: "user_id", rule: "max_length" },
    ],
    [
      "a control character in a user id",
      "users",
      0,
      0,
      "0001\t-AAAAA",
      { column: "user_id", rule: "user_id_chars" },
    ],
    [
      "a 257-character text field",
      "subscriptions",
      1,
      4,
      "m".repeat(257),
      { column: "contract_type", rule: "max_length" },
    ],
    [
      "a quote inside an unquoted field",
      "subscriptions",
      0,
      8,
      'Fiber "optic"',
      { column: "net_service", rule: "csv_quote" },
    ],
  ])(
    "refuses %s with its line and column",
    async (_name, file, row, col, value, expected) => {
      const rows = fixture[file]!.map((r) => [...r]);
      rows[row]![col] = value;
      const { error, first } = await refusal({ [file]: text(file, rows) });
      expect(first).toMatchObject({
        file: `${file}.csv`,
        line: row + 2,
        ...expected,
      });
      expect(error.message).toContain(
        `${file}.csv line ${row + 2}, column ${expected.column}`,
      );
      expect(error.message).not.toContain("\0");
    },
  );

  it("refuses a 10 MB user id without echoing it", async () => {
    const rows = fixture["users"]!.map((r) => [...r]);
    rows[1]![0] = "9".repeat(10 * 1024 * 1024);
    const { error, first } = await refusal({ users: text("users", rows) });
    expect(first).toMatchObject({
      file: "users.csv",
      line: 3,
      column: "user_id",
      rule: "max_length",
    });
    expect(error.message).toContain("longer than 64 characters");
    expect(JSON.stringify(error.details).length).toBeLessThan(2000);
  });

  it("refuses invalid UTF-8 (no silent U+FFFD) at its line and column", async () => {
    const body = Buffer.from(
      text("users").replace("Female", "Fem\u00e1le"),
      "latin1",
    );
    const { first } = await refusal({ users: body });
    expect(first).toMatchObject({
      file: "users.csv",
      line: 2,
      column: "user_gender",
      rule: "utf8",
    });
  });

  it("refuses a quoted field that spans lines at the right line, and counts the lines after it", async () => {
    const rows = fixture["subscriptions"]!.map((r) => [...r]);
    rows[0]![4] = '"Month-to-\nmonth"';
    rows[1]![6] = "abc";
    const { first } = await refusal({
      subscriptions: text("subscriptions", rows),
    });
    expect(first).toMatchObject({
      line: 4,
      column: "monthly_fee",
      rule: "number",
    });
  });

  it("tells a missing CSV from one that is not a regular file, listing every one", async () => {
    const dir = await writeMonth(await tmp(), fixture);
    await rm(join(dir, "labels.csv"));
    await rm(join(dir, "users.csv"));
    await mkdir(join(dir, "users.csv"));
    await rm(join(dir, "usage_agg_30d.csv"));
    await symlink("usage_agg_30d.csv", join(dir, "usage_agg_30d.csv"));
    const error = (await readMonthDirectory(dir, LAB_LAYOUT).catch(
      (e: unknown) => e,
    )) as Error & { code: string; details: { errors: unknown[] } };
    expect(error.code).toBe("INPUT_INVALID");
    expect(error.message).toMatch(
      /^users\.csv is a directory, not a regular file in .* \[rule regular_file\]/,
    );
    expect(error.details.errors).toEqual([
      expect.objectContaining({
        file: "users.csv",
        rule: "regular_file",
        line: 0,
        column: "(file)",
      }),
      expect.objectContaining({
        file: "usage_agg_30d.csv",
        rule: "regular_file",
        message: "is a symbolic link loop, not a regular file",
      }),
      expect.objectContaining({
        file: "labels.csv",
        rule: "file_missing",
        message: "is missing",
      }),
    ]);
  });
});
