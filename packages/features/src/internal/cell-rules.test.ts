import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "../schema.ts";
import { convertCell } from "./month-reader.ts";

const column = (over: Partial<ColumnSpec>): ColumnSpec => ({
  name: "c",
  type: "integer",
  nullable: false,
  min: undefined,
  max: undefined,
  allowed: undefined,
  maxLength: 64,
  ...over,
});

// The rules a repository may declare on a column, as ingestion applies them cell by cell.
describe("a cell against its column's declared rules", () => {
  it.each([
    [{ type: "integer", min: 0 }, "-1", "non_negative", "must be >= 0"],
    [{ type: "double", min: 0 }, "-0.5", "non_negative", "must be >= 0"],
    [{ type: "integer", min: 5 }, "4", "min", "must be >= 5"],
    [{ type: "double", max: 1 }, "1.0001", "max", "must be <= 1"],
    [{ type: "integer", min: 1, max: 3 }, "7", "max", "must be <= 3"],
    [
      { type: "text", allowed: ["free", "premium"] },
      "Free",
      "allowed",
      "must be one of 'free', 'premium'",
    ],
  ] as const)("%o refuses %s (%s)", (spec, raw, rule, message) => {
    expect(convertCell(column(spec), raw)).toEqual({ rule, message });
  });

  it.each([
    [{ type: "integer", min: 0 }, "0", "0"],
    [{ type: "integer", min: 5, max: 10 }, "10", "10"],
    [{ type: "double", min: 0, max: 1 }, "1.0", "1"],
    [{ type: "text", allowed: ["free", "premium"] }, "premium", "premium"],
    [{ type: "double", nullable: true, min: 0, max: 1 }, "", "\\N"],
  ] as const)("%o accepts %s", (spec, raw, copy) => {
    expect(convertCell(column(spec), raw)).toBe(copy);
  });
});
