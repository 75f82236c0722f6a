import {
  openDatabase,
  type Database,
  type OpenDatabaseOptions,
} from "./internal/db.ts";
import { migrate } from "./internal/migrations.ts";
import type { ApplyRepositoryOptions } from "./internal/repository-record.ts";

export type OpenFeatureStoreOptions = OpenDatabaseOptions &
  ApplyRepositoryOptions;

/**
 * Opens the feature store's database (PostgreSQL when `url` is given, else the embedded PGlite)
 * and brings its schema up to date, so every command can assume the tables exist.
 *
 * @throws FeaturesError DATABASE_URL_INVALID, DATABASE_UNAVAILABLE, DATABASE_SCHEMA_NEWER,
 *   REPOSITORY_CHANGE_DESTRUCTIVE.
 */
export async function openFeatureStore(
  options: OpenFeatureStoreOptions,
): Promise<Database> {
  const db = await openDatabase(options);
  try {
    await migrate(db, options);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
