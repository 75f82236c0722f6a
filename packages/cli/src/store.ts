import { mkdir } from "node:fs/promises";
import {
  openDatabase,
  openFeatureStore,
  type Database,
  type PoolOptions,
} from "@streamflow/features";
import type { CommandContext } from "./context.ts";

/**
 * Opens the configured database, runs `fn`, and always closes it. Migrates first unless told not
 * to (`db migrate` migrates itself, to report what it applied).
 */
export async function withFeatureStore<T>(
  ctx: CommandContext,
  fn: (db: Database) => Promise<T>,
  options: { migrate?: boolean; pool?: PoolOptions } = {},
): Promise<T> {
  const { databaseUrl, pgDataDir, home } = ctx.config;
  if (databaseUrl === undefined) await mkdir(home, { recursive: true });
  const target = {
    url: databaseUrl,
    dataDir: databaseUrl === undefined ? pgDataDir : undefined,
    pool: options.pool,
    repository: ctx.config.features.repository,
  };
  const db = await (options.migrate === false
    ? openDatabase(target)
    : openFeatureStore(target));
  ctx.logger.debug(`database: ${db.location}`);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
