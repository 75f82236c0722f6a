import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestEngine } from "@streamflow/test-utils";
import { openFeatureStore, type Database } from "@streamflow/features";
import { parseCalendarDay } from "@streamflow/core";

/** A UTC calendar day, as the store's `asOf` options take it. */
export const day = (s: string) => parseCalendarDay(s);

/** Runs `fn` on a fresh, migrated store on `engine`, with a scratch directory for month files. */
export async function withStore<T>(
  engine: TestEngine,
  fn: (db: Database, dir: string) => Promise<T>,
): Promise<T> {
  await using target = await createTestDatabase(engine);
  const db = await openFeatureStore({ url: target.url });
  const dir = await mkdtemp(join(tmpdir(), "sf-store-"));
  try {
    return await fn(db, dir);
  } finally {
    await db.close();
  }
}
