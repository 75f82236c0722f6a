import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { buildProgram } from "./program.ts";
import { EXIT_CODE, exitCodeFor } from "./exit-codes.ts";
import { CORE_ERROR_CODES } from "@streamflow/core";
import { FEATURES_ERROR_CODES } from "@streamflow/features";
import { parseCalendarDay } from "@streamflow/core";

const day = (s: string) => parseCalendarDay(s);

/** Parses argv with a dispatch that records the flags instead of running a handler. */
async function parse(argv: string[]): Promise<Record<string, unknown>> {
  let captured: Record<string, unknown> | undefined;
  const program = buildProgram(async (_load, flags) => {
    captured = flags;
  }, "0.0.0-test");
  const silence = (cmd: typeof program) => {
    cmd.exitOverride().configureOutput({
      writeErr: () => undefined,
      writeOut: () => undefined,
    });
    cmd.commands.forEach(silence);
  };
  silence(program);
  await program.parseAsync(argv, { from: "user" });
  if (!captured) throw new Error("no command dispatched");
  return captured;
}

describe("command wiring", () => {
  it.each([
    [
      ["ingest", "--month-dir", "m0", "--as-of", "2024-01-31"],
      { monthDir: "m0", asOf: day("2024-01-31") },
    ],
    [
      [
        "ingest",
        "--month-dir",
        "m0",
        "--as-of",
        "2024-02-29",
        "--replace",
        "--json",
      ],
      { replace: true, json: true, asOf: day("2024-02-29") },
    ],
    [
      ["build-dataset", "--as-of", "2024-01-31", "--out", "t.csv"],
      { asOf: day("2024-01-31"), out: "t.csv" },
    ],
    [
      [
        "build-dataset",
        "--as-of",
        "2024-01-31",
        "--label-as-of",
        "2024-02-29",
        "--out",
        "t.parquet",
      ],
      { labelAsOf: day("2024-02-29") },
    ],
    [
      [
        "materialize",
        "--as-of",
        "2024-02-29",
        "--database-url",
        "postgres://x@h/db",
      ],
      { asOf: day("2024-02-29"), databaseUrl: "postgres://x@h/db" },
    ],
    [["check-online"], { minCoverage: 0.99 }],
    [
      [
        "check-online",
        "--users",
        "a, b,,c",
        "--min-coverage",
        "0.5",
        "--sample",
        "10",
      ],
      { users: ["a", "b", "c"], minCoverage: 0.5, sample: 10 },
    ],
    [
      ["generate-data", "--out", "d"],
      {
        out: "d",
        users: 10_000,
        months: 2,
        seed: 42,
        firstAsOf: day("2024-01-31"),
      },
    ],
    [
      [
        "generate-data",
        "--out",
        "d",
        "--users",
        "1000000",
        "--months",
        "3",
        "--seed",
        "0",
        "--first-as-of",
        "2023-12-31",
      ],
      { users: 1_000_000, months: 3, seed: 0, firstAsOf: day("2023-12-31") },
    ],
    [
      ["quickstart", "--home", "/tmp/h", "--verbose"],
      { users: 5000, seed: 42, home: "/tmp/h", verbose: true },
    ],
    [["db", "migrate", "--json"], { json: true }],
  ])("%j → flags", async (argv, expected) => {
    expect(await parse(argv)).toMatchObject(expected);
  });

  it.each([
    [["ingest", "--as-of", "2024-01-31"], "--month-dir"],
    [
      ["ingest", "--month-dir", "m", "--as-of", "2024-02-30"],
      "expected a calendar date YYYY-MM-DD, got '2024-02-30'",
    ],
    [
      ["build-dataset", "--as-of", "2024-01-31T00:00:00Z", "--out", "x.csv"],
      "expected a calendar date",
    ],
    [
      ["check-online", "--min-coverage", "1.5"],
      "expected a number between 0 and 1, got '1.5'",
    ],
    [
      ["generate-data", "--out", "d", "--users", "0"],
      "expected a whole number >= 1, got '0'",
    ],
    [
      ["generate-data", "--out", "d", "--seed", "-3"],
      "expected a whole number >= 0",
    ],
    [
      ["ingest", "--month-dir", "m", "--as-of", "2024-01-31", "--bogus"],
      "unknown option '--bogus'",
    ],
  ])("%j is a usage error mentioning %s", async (argv, message) => {
    const error = await parse(argv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).message).toContain(message);
  });
});

describe("exit codes", () => {
  it("maps every library error code, and nothing unknown to success", () => {
    for (const code of [
      ...Object.keys(CORE_ERROR_CODES),
      ...Object.keys(FEATURES_ERROR_CODES),
    ]) {
      expect(Object.keys(EXIT_CODE)).toContain(code);
    }
    expect(exitCodeFor("DATABASE_UNAVAILABLE")).toBe(3);
    expect(exitCodeFor("INPUT_INVALID")).toBe(4);
    expect(exitCodeFor("CHECK_FAILED")).toBe(5);
    expect(exitCodeFor("INVALID_ARGUMENT")).toBe(2);
    expect(exitCodeFor("SOMETHING_NEW")).toBe(1);
    expect(exitCodeFor("toString")).toBe(1);
  });
});
