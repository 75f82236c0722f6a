import { CoreError } from "@streamflow/core";

/** 'YYYY-MM-DD' of a Date's UTC calendar day: snapshot dates are days, not instants. */
export function formatDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Checks that a caller-supplied Date is valid and a UTC midnight (a calendar day). */
export function parseDateOption(date: Date, name: string): Date {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new CoreError("INVALID_ARGUMENT", `${name} must be a valid date`);
  }
  if (date.getTime() % 86_400_000 !== 0) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `${name} must be a calendar day (UTC midnight), got ${date.toISOString()}`,
    );
  }
  return date;
}
