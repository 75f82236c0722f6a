import { parseCalendarDay, type CalendarDay } from "@streamflow/core";
import { InvalidArgumentError } from "commander";

/** `YYYY-MM-DD` → a CalendarDay, the one place a flag's day is parsed. A time or offset is refused. */
export function parseDay(value: string): CalendarDay {
  try {
    return parseCalendarDay(value);
  } catch {
    throw new InvalidArgumentError(
      `expected a calendar date YYYY-MM-DD, got '${value}'`,
    );
  }
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(
      `expected a whole number >= 1, got '${value}'`,
    );
  }
  return n;
}

export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(
      `expected a whole number >= 0, got '${value}'`,
    );
  }
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError(
      `expected a TCP port 0-65535, got '${value}'`,
    );
  }
  return n;
}

export function parseShare(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(
      `expected a number between 0 and 1, got '${value}'`,
    );
  }
  return n;
}

export function parseIdList(value: string): string[] {
  const ids = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (ids.length === 0)
    throw new InvalidArgumentError(
      `expected comma-separated user ids, got '${value}'`,
    );
  return ids;
}

/** `sqrt`, `log2`, `all`, a whole count (`4`) or a share with a point (`0.5`), as scikit-learn reads them. */
export function parseMaxFeatures(
  value: string,
): "sqrt" | "log2" | "all" | number {
  if (value === "sqrt" || value === "log2" || value === "all") return value;
  if (/^\d+$/.test(value) && Number(value) >= 1) return Number(value);
  if (/^(0?\.\d+|1\.0*)$/.test(value) && Number(value) > 0)
    return Number(value) === 1 ? "all" : Number(value);
  throw new InvalidArgumentError(
    `expected sqrt, log2, all, a whole number >= 1 or a share in (0, 1], got '${value}'`,
  );
}

export function parseTestSize(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || n >= 1) {
    throw new InvalidArgumentError(
      `expected a share strictly between 0 and 1, got '${value}'`,
    );
  }
  return n;
}

/** A drift threshold: a p-value or a distance, so any finite number >= 0. */
export function parseThreshold(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(
      `expected a number >= 0 (a p-value or a distance), got '${value}'`,
    );
  }
  return n;
}

export interface FeatureMethodFlag {
  feature: string;
  method: string;
  threshold?: number;
}

/** `NAME=METHOD[:THRESHOLD]`, repeatable: commander hands each one with the ones before. */
export function collectFeatureMethod(
  value: string,
  previous: FeatureMethodFlag[] | undefined,
): FeatureMethodFlag[] {
  const m = /^([^=\s]+)=([a-z]+)(?::(.+))?$/.exec(value);
  if (m === null)
    throw new InvalidArgumentError(
      `expected NAME=METHOD or NAME=METHOD:THRESHOLD (e.g. watch_hours_30d=psi:0.2), got '${value}'`,
    );
  const setting: FeatureMethodFlag = { feature: m[1]!, method: m[2]! };
  if (m[3] !== undefined) setting.threshold = parseThreshold(m[3]);
  if ((previous ?? []).some((p) => p.feature === setting.feature))
    throw new InvalidArgumentError(
      `--feature ${setting.feature} is given twice; keep one`,
    );
  return [...(previous ?? []), setting];
}
