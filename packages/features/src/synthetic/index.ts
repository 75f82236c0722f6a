/**
 * Deterministic synthetic StreamFlow months in the lab's exact CSV format: what users and the
 * quickstart get instead of the lab's own (unlicensed) files.
 */
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  calendarDayOf,
  CoreError,
  startOfDay,
  type CalendarDay,
  type ProgressListener,
} from "@streamflow/core";
import { AtomicFileWriter } from "./atomic-file.ts";
import {
  createOutputDir,
  monthDir,
  monthEnd,
  writeMonthsIndex,
} from "./months-output.ts";
import { Sfc32, streamKeys } from "./prng.ts";
import {
  drawFirstMonth,
  drawNextMonth,
  emptyUserRecord,
  MAX_MONTHS_ACTIVE,
  type UserRecord,
} from "./profile.ts";
import { csvLayouts, type CsvLayout, type RowContext } from "./rows.ts";
import { UserIdMapper } from "./user-ids.ts";

export interface GenerateDataOptions {
  /** Receives `month_000/`, `month_001/`, … and `months.json`; created if missing. */
  outDir: string;
  /** Rows per CSV; the same users, in the same order, in every file and month. */
  users: number;
  months: number;
  /** Same (users, months, seed, firstAsOf) ⇒ byte-identical files. Any safe integer. */
  seed: number;
  /** as_of of `month_000`: the last day of a month, at 00:00 UTC. */
  firstAsOf: CalendarDay;
  /** One event per chunk of users, phase `generate month_NNN`. */
  onProgress?: ProgressListener;
}

export interface GeneratedMonth {
  /** Directory name under `outDir`, e.g. `month_000`. */
  dir: string;
  asOf: CalendarDay;
  /** Data rows in each of the month's six CSVs. */
  rows: number;
}

export interface GenerateDataResult {
  /** Absolute path of the output directory. */
  outDir: string;
  months: GeneratedMonth[];
  users: number;
  /** Files written: six CSVs per month plus `months.json`. */
  files: number;
  /** Total size of those files. */
  bytes: number;
}

/**
 * Per-user state lives in typed arrays (~25 bytes a user); beyond this the memory is better spent
 * on several smaller runs.
 */
export const MAX_SYNTHETIC_USERS = 20_000_000;
/** Month directories are numbered with three digits. */
export const MAX_SYNTHETIC_MONTHS = 1000;

/**
 * Users per write. Small enough that a chunk's row strings die young in V8's nursery (16384
 * spent twice as long in GC at 1M users), large enough that each write is a few hundred KB.
 */
const CHUNK_USERS = 4096;
/** Profile files are identical in every month, as in the lab: later months copy month_000's. */
const STATIC_FILES = new Set(["users", "subscriptions"]);
/** Stream families: one per month, plus one for the id permutation. */
const ID_FAMILIES = [0x1d_0001, 0x1d_0002] as const;
const MONTH_FAMILY_BASE = 0x4d_0000;
/** Lab: signups run from 2022-01-01 to 2022-02-06, 724 days before the first as_of. */
const SIGNUP_ANCHOR_DAYS_BEFORE_AS_OF = 724;
const SIGNUP_WINDOW_DAYS = 36;
const DAY_MS = 86_400_000;

/**
 * Writes `months` synthetic months of `users` users under `outDir`, each file first under a
 * temporary name, then `months.json` listing each month's directory and as_of. Existing files of
 * the same names are replaced; other files in `outDir` are left alone.
 */
export async function generateData(
  options: GenerateDataOptions,
): Promise<GenerateDataResult> {
  validateOptions(options);
  const { users, months, seed, onProgress } = options;
  const firstAsOf = startOfDay(options.firstAsOf);
  const outDir = await createOutputDir(options.outDir);

  const layouts = csvLayouts();
  const ctx: RowContext = { signupDates: signupDates(firstAsOf) };
  const ids = new UserIdMapper(
    new Uint32Array([
      ...streamKeys(seed, ID_FAMILIES[0]),
      ...streamKeys(seed, ID_FAMILIES[1]),
    ]),
  );
  const state = new UserState(users);
  const generated: GeneratedMonth[] = [];
  let files = 0;
  let bytes = 0;

  for (let m = 0; m < months; m++) {
    const dir = monthDir(m);
    const monthPath = join(outDir, dir);
    await mkdir(monthPath, { recursive: true });
    const generatedLayouts =
      m === 0 ? layouts : layouts.filter((l) => !STATIC_FILES.has(l.file));
    if (m > 0) {
      for (const file of STATIC_FILES) {
        bytes += await copyAtomically(
          join(outDir, monthDir(0), `${file}.csv`),
          join(monthPath, `${file}.csv`),
        );
        files += 1;
      }
    }
    bytes += await writeMonth({
      month: m,
      monthPath,
      layouts: generatedLayouts,
      ctx,
      ids,
      state,
      keys: streamKeys(seed, MONTH_FAMILY_BASE + m),
      onProgress,
    });
    files += generatedLayouts.length;
    generated.push({
      dir,
      asOf: calendarDayOf(monthEnd(firstAsOf, m)),
      rows: users,
    });
  }

  files += 1;
  bytes += await writeMonthsIndex(outDir, generated);

  return { outDir, months: generated, users, files, bytes };
}

interface WriteMonthInput {
  month: number;
  monthPath: string;
  layouts: readonly CsvLayout[];
  ctx: RowContext;
  ids: UserIdMapper;
  state: UserState;
  keys: Uint32Array;
  onProgress: ProgressListener | undefined;
}

/** Streams one month's generated CSVs chunk by chunk; returns the bytes written. */
async function writeMonth(input: WriteMonthInput): Promise<number> {
  const { month, layouts, ctx, ids, state, keys, onProgress } = input;
  const users = state.size;
  const phase = `generate ${monthDir(month)}`;
  const writers = layouts.map(
    (l) => new AtomicFileWriter(join(input.monthPath, `${l.file}.csv`)),
  );
  const rng = new Sfc32();
  const rec = emptyUserRecord();
  const chunks = layouts.map(() => "");
  try {
    writers.forEach((w, k) => w.write(layouts[k]!.header));
    for (let start = 0; start < users; start += CHUNK_USERS) {
      const end = Math.min(users, start + CHUNK_USERS);
      chunks.fill("");
      for (let i = start; i < end; i++) {
        rng.reseed(keys, i);
        if (month === 0) {
          state.save(i, rec, drawFirstMonth(rng, rec));
        } else {
          state.load(i, rec);
          drawNextMonth(rng, rec, state.staticLogit(i));
          state.save(i, rec, state.staticLogit(i));
        }
        const id = ids.idFor(i);
        for (let k = 0; k < layouts.length; k++)
          chunks[k] += layouts[k]!.line(id, rec, ctx);
      }
      writers.forEach((w, k) => w.write(chunks[k]!));
      // Backpressure: never let more than one chunk per file queue up in memory.
      await Promise.all(writers.map((w) => w.drain()));
      onProgress?.({ phase, done: end, total: users });
    }
    for (const w of writers) await w.commit();
  } catch (error) {
    await Promise.all(writers.map((w) => w.abort()));
    throw error;
  }
  return writers.reduce((sum, w) => sum + w.bytes, 0);
}

/**
 * The values a user carries from one month to the next. Profile columns never change, so only
 * the churn logit they imply is kept, not the columns themselves.
 */
class UserState {
  readonly size: number;
  private readonly logit: Float64Array;
  private readonly watchHours: Float64Array;
  private readonly devices: Uint8Array;
  private readonly skips: Uint8Array;
  private readonly resolution: Uint8Array;
  // Uint16: rebuffers can grow by up to 4 a month for MAX_SYNTHETIC_MONTHS months.
  private readonly rebuffers: Uint16Array;
  private readonly failedPayments: Uint16Array;
  private readonly supportTickets: Uint16Array;

  constructor(size: number) {
    this.size = size;
    this.logit = new Float64Array(size);
    this.watchHours = new Float64Array(size);
    this.devices = new Uint8Array(size);
    this.skips = new Uint8Array(size);
    this.resolution = new Uint8Array(size);
    this.rebuffers = new Uint16Array(size);
    this.failedPayments = new Uint16Array(size);
    this.supportTickets = new Uint16Array(size);
  }

  staticLogit(i: number): number {
    return this.logit[i]!;
  }

  save(i: number, r: UserRecord, staticLogit: number): void {
    this.logit[i] = staticLogit;
    this.watchHours[i] = r.watchHours;
    this.devices[i] = r.uniqueDevices;
    this.skips[i] = r.skips;
    this.resolution[i] = r.resolutionDeciHours;
    this.rebuffers[i] = r.rebuffers;
    this.failedPayments[i] = r.failedPayments;
    this.supportTickets[i] = r.supportTickets;
  }

  /** Restores the month-varying fields; profile fields of `r` are stale and must not be printed. */
  load(i: number, r: UserRecord): void {
    r.watchHours = this.watchHours[i]!;
    r.uniqueDevices = this.devices[i]!;
    r.skips = this.skips[i]!;
    r.resolutionDeciHours = this.resolution[i]!;
    r.rebuffers = this.rebuffers[i]!;
    r.failedPayments = this.failedPayments[i]!;
    r.supportTickets = this.supportTickets[i]!;
  }
}

async function copyAtomically(from: string, to: string): Promise<number> {
  const temp = `${to}.partial`;
  try {
    await copyFile(from, temp);
    await rename(temp, to);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  return (await stat(to)).size;
}

/**
 * signup_date by months_active, reproducing the lab's quirk: one day earlier per month of tenure,
 * floored at the window's first day. Anchored on `firstAsOf` so signups never follow the as_of.
 */
function signupDates(firstAsOf: Date): string[] {
  const anchor = firstAsOf.getTime() - SIGNUP_ANCHOR_DAYS_BEFORE_AS_OF * DAY_MS;
  return Array.from({ length: MAX_MONTHS_ACTIVE + 1 }, (_, months) =>
    calendarDayOf(
      new Date(anchor - Math.min(months, SIGNUP_WINDOW_DAYS) * DAY_MS),
    ),
  );
}

function invalid(message: string, hint: string, value: unknown): CoreError {
  return new CoreError("INVALID_ARGUMENT", message, {
    hint,
    details: { value },
  });
}

function validateOptions(o: GenerateDataOptions): void {
  if (typeof o.outDir !== "string" || o.outDir.trim() === "") {
    throw invalid(
      `outDir must be a non-empty path, got '${String(o.outDir)}'`,
      "pass the directory that should receive month_000/, month_001/, …",
      o.outDir,
    );
  }
  if (
    !Number.isInteger(o.users) ||
    o.users < 1 ||
    o.users > MAX_SYNTHETIC_USERS
  ) {
    throw invalid(
      `users must be an integer from 1 to ${MAX_SYNTHETIC_USERS}, got '${String(o.users)}'`,
      "pass a whole number of users, e.g. 7043 for the lab's size",
      o.users,
    );
  }
  if (
    !Number.isInteger(o.months) ||
    o.months < 1 ||
    o.months > MAX_SYNTHETIC_MONTHS
  ) {
    throw invalid(
      `months must be an integer from 1 to ${MAX_SYNTHETIC_MONTHS}, got '${String(o.months)}'`,
      "pass how many monthly directories to write, e.g. 2 like the lab",
      o.months,
    );
  }
  if (!Number.isSafeInteger(o.seed)) {
    throw invalid(
      `seed must be a safe integer, got '${String(o.seed)}'`,
      "pass a whole number such as 42; the same seed reproduces the same files",
      o.seed,
    );
  }
  const shown = String(o.firstAsOf);
  const d = /^\d{4}-\d{2}-\d{2}$/.test(shown)
    ? new Date(`${shown}T00:00:00Z`)
    : new Date(Number.NaN);
  const valid =
    !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === shown;
  if (
    !valid ||
    d.getTime() % DAY_MS !== 0 ||
    d.getUTCDate() !== monthEnd(d, 0).getUTCDate()
  ) {
    throw invalid(
      `firstAsOf must be the last day of a month (YYYY-MM-DD), got '${shown}'`,
      "use a month end such as 2024-01-31 (the lab's first as_of)",
      o.firstAsOf,
    );
  }
  const earliestSignup =
    d.getTime() -
    (SIGNUP_ANCHOR_DAYS_BEFORE_AS_OF + SIGNUP_WINDOW_DAYS) * DAY_MS;
  const lastAsOf = monthEnd(d, o.months - 1);
  // Every date must print as YYYY-MM-DD, signups included (about two years before firstAsOf).
  if (
    new Date(earliestSignup).getUTCFullYear() < 1000 ||
    lastAsOf.getUTCFullYear() > 9999
  ) {
    throw invalid(
      `firstAsOf ${calendarDayOf(d)} with ${o.months} months puts dates outside the years 1000-9999`,
      "choose a firstAsOf between 1002-01-31 and the end of 9999 minus the months generated",
      o.firstAsOf,
    );
  }
}
