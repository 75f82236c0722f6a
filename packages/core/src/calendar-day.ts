import { CoreError } from "./errors.ts";

declare const CALENDAR_DAY: unique symbol;

/**
 * A calendar day, `YYYY-MM-DD`: what every as-of date in StreamFlow is (snapshots are days, not
 * instants). Parsed once where it enters — a flag, a file, a caller — and passed as is down to
 * SQL and back into results and JSON, so no layer re-parses or re-formats it.
 */
export type CalendarDay = string & { readonly [CALENDAR_DAY]: true };

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function isValidDay(text: string): boolean {
  const m = DAY.exec(text);
  if (m === null) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toISOString().slice(0, 10) === text;
}

/**
 * `YYYY-MM-DD` → a CalendarDay; a time, an offset or an impossible date (2024-02-30) is refused.
 * Also the runtime check a library makes of a day a JavaScript caller hands it.
 * @throws CoreError INVALID_ARGUMENT naming `name` and the value.
 */
export function parseCalendarDay(text: unknown, name = "date"): CalendarDay {
  if (typeof text !== "string" || !isValidDay(text)) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `${name}: expected a calendar date YYYY-MM-DD, got '${String(text)}'`,
      {
        hint: "e.g. 2024-01-31",
        details: { [name]: String(text) },
      },
    );
  }
  return text as CalendarDay;
}

/** The UTC calendar day a Date falls on (its time of day is ignored). */
export function calendarDayOf(date: Date): CalendarDay {
  return date.toISOString().slice(0, 10) as CalendarDay;
}

/** Midnight UTC of the day, for date arithmetic. */
export function startOfDay(day: CalendarDay): Date {
  return new Date(`${day}T00:00:00Z`);
}
