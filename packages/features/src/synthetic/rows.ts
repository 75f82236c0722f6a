/**
 * Turns a {@link UserRecord} into CSV lines in the lab's exact text format. Column order comes from
 * `SOURCE_FILES`; this module only knows how each named column is printed.
 */
import {
  SOURCE_FILES,
  type SourceFileName,
  type SourceFileSpec,
} from "../schema.ts";
import {
  AVG_SESSION_MINS_7D,
  CONTRACT_TYPES,
  NET_NONE,
  NET_SERVICES,
  type UserRecord,
} from "./profile.ts";

const TRUE = "True";
const FALSE = "False";

const SMALL_INTS: readonly string[] = Array.from({ length: 4096 }, (_, i) =>
  String(i),
);

function int(n: number): string {
  return SMALL_INTS[n] ?? String(n);
}

function bool(b: boolean): string {
  return b ? TRUE : FALSE;
}

/**
 * Whole cents as the lab prints money (Python's float repr after rounding to cents): `29.85`,
 * `42.3`, `0.0`. Built from integers so no float ever shows a binary rounding tail.
 */
export function formatCents(cents: number): string {
  const whole = Math.floor(cents / 100);
  const frac = cents - whole * 100;
  if (frac === 0) return `${whole}.0`;
  if (frac % 10 === 0) return `${whole}.${frac / 10}`;
  return frac < 10 ? `${whole}.0${frac}` : `${whole}.${frac}`;
}

/** Tenths as one decimal, always with the decimal: `16.0`, `8.6`. */
export function formatDeci(deci: number): string {
  const whole = Math.floor(deci / 10);
  return `${whole}.${deci - whole * 10}`;
}

/**
 * A measurement at full precision: JS shortest round-trip digits, which match Python's repr for
 * the lab's range. Integral values keep a `.0` and tiny ones avoid exponent notation, so every
 * value parses as a plain decimal.
 */
export function formatFloat(x: number): string {
  const s = String(x);
  if (s.includes("e")) return withoutExponent(s);
  return Number.isInteger(x) ? `${s}.0` : s;
}

/** Moves the decimal point of `1.5e-7`-style text; keeps the shortest digits, so it round-trips. */
function withoutExponent(s: string): string {
  const [mantissa = "", exponent = "0"] = s.split("e");
  const negative = mantissa.startsWith("-");
  const [whole = "", fraction = ""] = (
    negative ? mantissa.slice(1) : mantissa
  ).split(".");
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  const text =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? `${digits}${"0".repeat(point - digits.length)}.0`
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${text}` : text;
}

/** Per-run values a row needs besides the user's own record. */
export interface RowContext {
  /** signup_date text indexed by months_active. */
  readonly signupDates: readonly string[];
}

type Field = (r: UserRecord, ctx: RowContext) => string;

const FIELDS: Readonly<Record<string, Field>> = {
  signup_date: (r, ctx) => ctx.signupDates[r.monthsActive]!,
  user_gender: (r) => (r.male ? "Male" : "Female"),
  user_is_senior: (r) => bool(r.senior),
  has_family: (r) => bool(r.family),
  has_dependents: (r) => bool(r.dependents),

  months_active: (r) => int(r.monthsActive),
  // Empty exactly for users without a net service: the lab's legitimate NULL.
  plan_stream_tv: (r) => (r.net === NET_NONE ? "" : bool(r.streamTv)),
  plan_stream_movies: (r) => (r.net === NET_NONE ? "" : bool(r.streamMovies)),
  contract_type: (r) => CONTRACT_TYPES[r.contract]!,
  paperless_billing: (r) => bool(r.paperless),
  monthly_fee: (r) => formatCents(r.feeCents),
  total_paid: (r) => formatCents(r.totalPaidCents),
  net_service: (r) => NET_SERVICES[r.net]!,

  watch_hours_30d: (r) => formatFloat(r.watchHours),
  avg_session_mins_7d: () => AVG_SESSION_MINS_7D,
  unique_devices_30d: (r) => int(r.uniqueDevices),
  skips_7d: (r) => int(r.skips),
  rebuffer_events_7d: (r) => int(r.rebuffers),

  failed_payments_90d: (r) => int(r.failedPayments),

  support_tickets_90d: (r) => int(r.supportTickets),
  ticket_avg_resolution_hrs_90d: (r) => formatDeci(r.resolutionDeciHours),

  churn_label: (r) => bool(r.churn),
};

/** One CSV of a month: its header line and a function appending one user's line. */
export interface CsvLayout {
  readonly file: SourceFileName;
  readonly header: string;
  readonly line: (userId: string, r: UserRecord, ctx: RowContext) => string;
}

function layoutFor(spec: SourceFileSpec): CsvLayout {
  const fields = spec.columns.map((c) => {
    const field = FIELDS[c.name];
    // A schema column without a printer would silently shift every later column: fail loudly.
    if (!field)
      throw new Error(
        `synthetic generator has no value for ${spec.name}.${c.name}`,
      );
    return field;
  });
  const n = fields.length;
  return {
    file: spec.name,
    header: ["user_id", ...spec.columns.map((c) => c.name)].join(",") + "\n",
    line: (userId, r, ctx) => {
      let s = userId;
      for (let i = 0; i < n; i++) s += "," + fields[i]!(r, ctx);
      return s + "\n";
    },
  };
}

/** The six layouts, in `SOURCE_FILES` order. */
export function csvLayouts(): CsvLayout[] {
  return SOURCE_FILES.map(layoutFor);
}
