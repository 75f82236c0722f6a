/**
 * Synthetic months for any feature repository, from its declarations alone: every value within
 * its column's type, bounds, allowed values and length, a label that the features predict, and
 * drift from one month to the next. What a user runs before having data of their own, and what
 * the tests run a second repository on. (The lab's repository keeps its own generator, which
 * reproduces the lab's files' quirks and figures.)
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  calendarDayOf,
  CoreError,
  startOfDay,
  type CalendarDay,
  type ProgressListener,
} from "@streamflow/core";
import { storeLayout, type StoreLayout } from "../layout.ts";
import {
  createOutputDir,
  monthDir,
  monthEnd,
  writeMonthsIndex,
} from "./months-output.ts";
import type {
  FeatureRepository,
  RepositoryColumn,
  RepositorySource,
} from "../repository/feature-repository.ts";
import { AtomicFileWriter } from "./atomic-file.ts";
import { mix32, Sfc32, streamKeys } from "./prng.ts";
import type { GenerateDataResult, GeneratedMonth } from "./index.ts";

export interface GenerateRepositoryDataOptions {
  repository: FeatureRepository;
  /** Receives `month_000/`, `month_001/`, … and `months.json`; created if missing. */
  outDir: string;
  /** Entities: every source lists each of them, every month. */
  users: number;
  months: number;
  /** Same options ⇒ byte-identical files (Parquet included: the same writer writes the same bytes). */
  seed: number;
  /** as_of of `month_000`: the last day of a month. */
  firstAsOf: CalendarDay;
  onProgress?: ProgressListener | undefined;
}

/** Beyond this the generator's per-entity arrays and a month's columns held for Parquet get large. */
export const MAX_REPOSITORY_USERS = 5_000_000;
const NULL_SHARE = 0.08;
/** How much each month moves every drifting column, in units of its latent scale. */
const DRIFT_PER_MONTH = 0.35;
const DAY_MS = 86_400_000;
const RISK_FAMILY = 0x52_0000;
const MONTH_FAMILY = 0x52_1000;

type Value = string | number | boolean | Date | null;

/**
 * One column's generator: its values follow the entity's churn risk with a direction and a
 * strength of their own (derived from the seed and the column's name, so adding a column leaves
 * the others as they were), plus noise.
 */
interface ColumnRecipe {
  readonly column: RepositoryColumn;
  readonly direction: number;
  readonly strength: number;
  /** Moves month by month (features of sources other than the entity's own table do). */
  readonly drifts: boolean;
}

function hashName(seed: number, name: string): number {
  let h = mix32(seed >>> 0) ^ name.length;
  for (let i = 0; i < name.length; i++) h = mix32(h ^ name.charCodeAt(i));
  return h >>> 0;
}

function recipeFor(
  seed: number,
  source: RepositorySource,
  column: RepositoryColumn,
): ColumnRecipe {
  const h = hashName(seed, `${source.name}.${column.name}`);
  return {
    column,
    direction: (h & 1) === 0 ? 1 : -1,
    strength: 0.6 + ((h >>> 1) % 1000) / 1000,
    drifts: !source.entityTable,
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The numeric range a column's values are drawn from: its bounds, or a plausible span from one of them. */
function numericRange(c: RepositoryColumn): [number, number] {
  const lo = c.min ?? (c.max !== undefined ? Math.min(0, c.max - 100) : 0);
  const hi = c.max ?? lo + 100;
  return [lo, hi];
}

function textValues(c: RepositoryColumn): readonly string[] {
  if (c.allowed !== undefined) return c.allowed;
  const values = ["a", "b", "c", "d"].map((s) => `${c.name}_${s}`);
  // A name longer than the column allows would break its own rule.
  return values.map((v) => v.slice(0, c.maxLength));
}

/** One value of a column for an entity whose risk is `signal`; dates count back from `asOf`. */
function drawValue(
  recipe: ColumnRecipe,
  rng: Sfc32,
  { signal, asOf }: { signal: number; asOf: Date },
): Value {
  const c = recipe.column;
  if (c.nullable && rng.nextFloat() < NULL_SHARE) return null;
  const x =
    recipe.direction * recipe.strength * signal + 0.7 * rng.nextNormal();
  switch (c.type) {
    case "boolean":
      return rng.nextFloat() < sigmoid(x);
    case "integer": {
      const [lo, hi] = numericRange(c);
      const v = Math.round(lo + (hi - lo) * sigmoid(x));
      return Math.min(Math.max(v, Math.ceil(lo)), Math.floor(hi));
    }
    case "double": {
      const [lo, hi] = numericRange(c);
      const v = Math.round((lo + (hi - lo) * sigmoid(x)) * 100) / 100;
      return Math.min(Math.max(v, lo), hi);
    }
    case "text": {
      const values = textValues(c);
      const i = Math.min(
        values.length - 1,
        Math.floor(values.length * sigmoid(x)),
      );
      return values[i]!;
    }
    case "date":
      // Up to two years before the as_of: signup-like dates, earlier for one end of the risk.
      return new Date(asOf.getTime() - Math.floor(730 * sigmoid(x)) * DAY_MS);
  }
}

function csvField(value: Value): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value instanceof Date) return calendarDayOf(value);
  const text = String(value);
  // An allowed value may hold a comma, a quote or a line break: RFC 4180 quoting, as ingest reads.
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function keyFor(
  i: number,
  width: number,
  entity: StoreLayout["entity"],
): string {
  const digits = String(i).padStart(width, "0");
  const prefixed = `${entity.name.slice(0, 3).toUpperCase()}-${digits}`;
  return prefixed.length <= entity.maxKeyLength ? prefixed : digits;
}

/**
 * Writes `months` months of `users` entities for `repository` under `outDir`, each source in its
 * declared file and format, then `months.json`, as generateData does for the lab.
 */
export async function generateRepositoryData(
  options: GenerateRepositoryDataOptions,
): Promise<GenerateDataResult> {
  const { repository, users, months, seed } = options;
  check(options);
  const layout = storeLayout(repository);
  const outDir = await createOutputDir(options.outDir);
  const width = String(users - 1).length;
  const keys = Array.from({ length: users }, (_, i) =>
    keyFor(i, width, layout.entity),
  );
  const rng = new Sfc32();
  // Each entity's risk: static part (what its own table says) and a monthly random walk.
  const baseRisk = new Float64Array(users);
  const riskKeys = streamKeys(seed, RISK_FAMILY);
  for (let i = 0; i < users; i++) {
    rng.reseed(riskKeys, i);
    baseRisk[i] = rng.nextNormal();
  }
  const walk = new Float64Array(users);
  const firstAsOf = startOfDay(options.firstAsOf);
  const generated: GeneratedMonth[] = [];
  let files = 0;
  let bytes = 0;
  for (let m = 0; m < months; m++) {
    const asOf = monthEnd(firstAsOf, m);
    const dir = monthDir(m);
    const monthPath = join(outDir, dir);
    await mkdir(monthPath, { recursive: true });
    const monthKeys = streamKeys(seed, MONTH_FAMILY + m);
    for (let i = 0; i < users; i++) {
      rng.reseed(monthKeys, i);
      walk[i] = m === 0 ? 0 : 0.8 * walk[i]! + 0.6 * rng.nextNormal();
    }
    for (const [s, source] of layout.sources.entries()) {
      const recipes = source.columns.map((c) => recipeFor(seed, source, c));
      const columns: Value[][] = source.columns.map(
        () => new Array<Value>(users),
      );
      // The entity's own table is the same every month, as a profile is; other sources move.
      const sourceKeys = streamKeys(
        seed ^ hashName(seed, source.name),
        source.entityTable ? 0 : m + 1,
      );
      for (let i = 0; i < users; i++) {
        rng.reseed(sourceKeys, i);
        const risk = baseRisk[i]! + (source.entityTable ? 0 : walk[i]!);
        recipes.forEach((recipe, k) => {
          const isLabel =
            source.name === layout.label.source &&
            recipe.column.name === layout.label.column.name;
          columns[k]![i] = isLabel
            ? rng.nextFloat() < sigmoid(1.6 * risk - 1.1)
            : drawValue(recipe, rng, {
                signal: risk + (recipe.drifts ? DRIFT_PER_MONTH * m : 0),
                // A profile's dates are anchored on the first month, so they never change.
                asOf: source.entityTable ? firstAsOf : asOf,
              });
        });
        if ((i + 1) % 65_536 === 0)
          options.onProgress?.({
            phase: `generate ${dir} ${s + 1}/${layout.sources.length}`,
            done: i + 1,
            total: users,
          });
      }
      const table: SourceTable = {
        path: join(monthPath, source.file),
        key: layout.entity.joinKey,
        keys,
        source,
        columns,
      };
      bytes +=
        source.format === "parquet"
          ? await writeParquetSource(table)
          : await writeCsvSource(table);
      files += 1;
    }
    generated.push({ dir, asOf: calendarDayOf(asOf), rows: users });
  }
  const indexBytes = await writeMonthsIndex(outDir, generated);
  return {
    outDir,
    months: generated,
    users,
    files: files + 1,
    bytes: bytes + indexBytes,
  };
}

/** One month of one source: the entity keys and a column of values per declared column. */
interface SourceTable {
  path: string;
  key: string;
  keys: readonly string[];
  source: RepositorySource;
  columns: readonly Value[][];
}

async function writeCsvSource({
  path,
  key,
  keys,
  source,
  columns,
}: SourceTable): Promise<number> {
  const file = new AtomicFileWriter(path);
  try {
    file.write([key, ...source.columns.map((c) => c.name)].join(",") + "\n");
    let chunk = "";
    for (let i = 0; i < keys.length; i++) {
      chunk +=
        keys[i] + columns.map((c) => "," + csvField(c[i]!)).join("") + "\n";
      if (chunk.length > 1 << 16) {
        file.write(chunk);
        chunk = "";
        await file.drain();
      }
    }
    file.write(chunk);
    await file.commit();
  } catch (error) {
    await file.abort();
    throw error;
  }
  return file.bytes;
}

async function writeParquetSource({
  path,
  key,
  keys,
  source,
  columns,
}: SourceTable): Promise<number> {
  const { default: pl } = await import("nodejs-polars");
  const { rename, rm, stat } = await import("node:fs/promises");
  const dtype = (c: RepositoryColumn) =>
    ({
      integer: pl.Int32,
      double: pl.Float64,
      boolean: pl.Bool,
      date: pl.Date,
      text: pl.Utf8,
    })[c.type];
  const frame = pl.DataFrame([
    pl.Series(key, [...keys], pl.Utf8),
    ...source.columns.map((c, k) => pl.Series(c.name, columns[k]!, dtype(c))),
  ]);
  const temp = `${path}.partial`;
  try {
    frame.writeParquet(temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  return (await stat(path)).size;
}

function check(o: GenerateRepositoryDataOptions): void {
  const bad = (what: string, value: unknown, hint: string) =>
    new CoreError("INVALID_ARGUMENT", `${what}, got '${String(value)}'`, {
      hint,
      details: { value },
    });
  if (
    !Number.isInteger(o.users) ||
    o.users < 1 ||
    o.users > MAX_REPOSITORY_USERS
  )
    throw bad(
      `users must be an integer from 1 to ${MAX_REPOSITORY_USERS}`,
      o.users,
      "pass a whole number of entities, e.g. 5000",
    );
  const digits = String(o.users - 1).length;
  if (digits > o.repository.entity.maxKeyLength)
    throw bad(
      `${o.users} entities need keys of ${digits} characters, more than max_key_length ${o.repository.entity.maxKeyLength}`,
      o.users,
      `generate at most ${10 ** o.repository.entity.maxKeyLength} entities, or raise max_key_length`,
    );
  if (!Number.isInteger(o.months) || o.months < 1 || o.months > 1000)
    throw bad("months must be an integer from 1 to 1000", o.months, "e.g. 2");
  if (!Number.isSafeInteger(o.seed))
    throw bad(
      "seed must be a safe integer",
      o.seed,
      "e.g. 42; the same seed reproduces the same files",
    );
  const d = new Date(`${String(o.firstAsOf)}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || monthEnd(d, 0).getTime() !== d.getTime())
    throw bad(
      "firstAsOf must be the last day of a month (YYYY-MM-DD)",
      o.firstAsOf,
      "use a month end such as 2024-01-31",
    );
}
