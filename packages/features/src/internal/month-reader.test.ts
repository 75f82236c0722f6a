import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAB_HEADERS, monthFixture, writeMonth } from "@streamflow/test-utils";
import { readMonthDirectory } from "./month-reader.ts";

const users = [{ id: "0001-AAAAA" }, { id: "0002-BBBBB", net: "No" as const, churn: true }];
const fixture = monthFixture(users);
const text = (name: string, rows = fixture[name]!, header = LAB_HEADERS[name]!) => [header, ...rows].map((r) => r.join(",")).join("\n") + "\n";
const tmp = () => mkdtemp(join(tmpdir(), "sf-reader-"));

describe("readMonthDirectory", () => {
  it("converts rows to COPY text in table column order, NULL as \\N", async () => {
    const month = await readMonthDirectory(await writeMonth(await tmp(), fixture));
    const subs = month.files.find((f) => f.name === "subscriptions")!;
    expect(subs.rows).toBe(2);
    expect(subs.copyChunks.join("")).toBe(
      "0001-AAAAA\t12\tt\tf\tMonth-to-month\tt\t29.85\t358.2\tDSL\n0002-BBBBB\t12\t\\N\t\\N\tMonth-to-month\tt\t29.85\t358.2\tNo\n",
    );
    expect(month.files.map((f) => f.name)).toEqual(["users", "subscriptions", "usage_agg_30d", "payments_agg_90d", "support_agg_90d", "labels"]);
  });

  it("hashes content, not spelling: CRLF, BOM, column order, trailing zeros and a missing final newline", async () => {
    const plain = await readMonthDirectory(await writeMonth(await tmp(), fixture));
    const reordered = LAB_HEADERS["support_agg_90d"]!.slice().reverse();
    const support = fixture["support_agg_90d"]!.map((r) => r.slice().reverse());
    const raw: Record<string, string> = {
      users: "\uFEFF" + text("users").replace(/\n/g, "\r\n"),
      support_agg_90d: text("support_agg_90d", support, reordered).trimEnd(),
      usage_agg_30d: text("usage_agg_30d").replace(/24\.483650766787413/g, "2.4483650766787413e1"),
    };
    const spelled = await readMonthDirectory(await writeMonth(await tmp(), fixture, raw));
    expect(spelled.contentSha256).toBe(plain.contentSha256);
    const changed = monthFixture([{ id: "0001-AAAAA" }, { id: "0002-BBBBB", net: "No", churn: false }]);
    expect((await readMonthDirectory(await writeMonth(await tmp(), changed))).contentSha256).not.toBe(plain.contentSha256);
  });

  it("normalises equal numbers to one spelling", async () => {
    const raw = { support_agg_90d: text("support_agg_90d").replace(/16\.0/g, "16.000") };
    const month = await readMonthDirectory(await writeMonth(await tmp(), fixture, raw));
    expect(month.files.find((f) => f.name === "support_agg_90d")!.copyChunks.join("")).toBe("0001-AAAAA\t0\t16\n0002-BBBBB\t0\t16\n");
  });

  it("reports at most 50 problems, the first one in the message", async () => {
    const rows = Array.from({ length: 80 }, (_, i) => [`${String(i).padStart(4, "0")}-XXXXX`, "not-a-number"]);
    const many = monthFixture(rows.map((r) => ({ id: r[0]! })));
    const raw = { payments_agg_90d: text("payments_agg_90d", rows) };
    const error = await readMonthDirectory(await writeMonth(await tmp(), many, raw)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INPUT_INVALID" });
    const details = (error as { details: { errors: unknown[] } }).details;
    expect(details.errors).toHaveLength(50);
    expect((error as Error).message).toMatch(/^payments_agg_90d\.csv line 2, column failed_payments_90d: value 'not-a-number' must be a whole number \[rule integer\] \(and 49 more; 50\+ problems in all\)$/);
  });

  it("refuses a directory that does not exist", async () => {
    await expect(readMonthDirectory("/nonexistent/month")).rejects.toMatchObject({ code: "INPUT_NOT_FOUND" });
  });
});
