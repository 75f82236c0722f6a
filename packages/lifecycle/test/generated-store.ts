import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCalendarDay } from "@streamflow/core";
import {
  generateData,
  ingestMonth,
  openFeatureStore,
  type Database,
} from "@streamflow/features";
import type { TrainingRecipe } from "@streamflow/lifecycle";

/** A small forest on one thread: the lab's recipe otherwise. */
export const testRecipe = (
  over: Partial<TrainingRecipe> = {},
): TrainingRecipe => ({
  nEstimators: 8,
  maxFeatures: "sqrt",
  classWeight: "balanced",
  seed: 42,
  testSize: 0.25,
  jobs: 1,
  ...over,
});

/**
 * A scratch folder and a migrated store (in-memory PGlite, or the PostgreSQL `url`) holding
 * `months` generated months from 2024-01-31, ingested.
 */
export async function generatedStore(options: {
  prefix: string;
  users: number;
  months: number;
  seed: number;
  url?: string | undefined;
}): Promise<{ work: string; db: Database }> {
  const work = await mkdtemp(join(tmpdir(), options.prefix));
  const data = await generateData({
    outDir: join(work, "data"),
    users: options.users,
    months: options.months,
    seed: options.seed,
    firstAsOf: parseCalendarDay("2024-01-31"),
  });
  const db = await openFeatureStore({ url: options.url });
  for (const m of data.months)
    await ingestMonth({ db, monthDir: join(data.outDir, m.dir), asOf: m.asOf });
  return { work, db };
}
