import { describe, expect, it } from "vitest";
import { shouldPromote } from "./promotion-rule.ts";

describe("shouldPromote, the lab's rule", () => {
  it("promotes only a candidate better by more than the delta (the lab's cases)", () => {
    expect(shouldPromote(0.8, 0.78, 0.01)).toBe(true);
    expect(shouldPromote(0.785, 0.78, 0.01)).toBe(false);
    // Strictly more: exactly at the delta is not enough.
    expect(shouldPromote(0.79, 0.78, 0.0)).toBe(true);
    expect(shouldPromote(0.78, 0.78, 0.0)).toBe(false);
    expect(shouldPromote(0.5, 0.25, 0.25)).toBe(false);
  });

  it("promotes when there is no current value to beat, and never a candidate without one", () => {
    expect(shouldPromote(0.7, null, 0.01)).toBe(true);
    expect(shouldPromote(0.7, undefined, 0.01)).toBe(true);
    expect(shouldPromote(0.7, Number.NaN, 0.01)).toBe(true);
    expect(shouldPromote(Number.NaN, 0.7, 0.01)).toBe(false);
    expect(shouldPromote(null, 0.7, 0.01)).toBe(false);
    // The lab checks the current value first.
    expect(shouldPromote(Number.NaN, Number.NaN, 0.01)).toBe(true);
  });
});
