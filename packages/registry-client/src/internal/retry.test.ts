import { describe, expect, it } from "vitest";
import { backoffDelayMs, parseRetryAfterMs } from "./retry.ts";

const MLFLOW_DEFAULTS = {
  maxRetries: 7,
  backoffFactorMs: 2_000,
  backoffJitterMs: 1_000,
  backoffMaxMs: 120_000,
};

describe("backoffDelayMs", () => {
  it("follows urllib3's schedule with MLflow's defaults: 0, 4, 8, 16, 32, 64, 120 s (no jitter drawn)", () => {
    const delays = Array.from({ length: 7 }, (_, i) =>
      backoffDelayMs(MLFLOW_DEFAULTS, i + 1, () => 0),
    );
    expect(delays).toEqual([0, 4_000, 8_000, 16_000, 32_000, 64_000, 120_000]);
  });

  it("adds jitter after the first retry only, and caps the sum", () => {
    expect(backoffDelayMs(MLFLOW_DEFAULTS, 1, () => 0.99)).toBe(0);
    expect(backoffDelayMs(MLFLOW_DEFAULTS, 2, () => 0.25)).toBe(4_250);
    expect(backoffDelayMs(MLFLOW_DEFAULTS, 7, () => 0.99)).toBe(120_000);
    expect(
      backoffDelayMs({ ...MLFLOW_DEFAULTS, backoffJitterMs: 0 }, 3, () => 0.9),
    ).toBe(8_000);
  });
});

describe("parseRetryAfterMs", () => {
  const now = new Date("2024-01-31T12:00:00Z");
  it.each([
    ["7", 7_000],
    ["0.5", 500],
    ["Wed, 31 Jan 2024 12:00:30 GMT", 30_000],
    ["Wed, 31 Jan 2024 11:00:00 GMT", 0],
    [undefined, undefined],
    ["", undefined],
    ["soon", undefined],
  ])("%s → %s ms", (header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });
});
