import { FeaturesError } from "../errors.ts";
import { storeLayout, type StoreLayout } from "../layout.ts";
import { LAB_REPOSITORY } from "../repository/lab-repository.ts";
import { parseFeatureRepository } from "../repository/parse-repository.ts";
import { repositoryFileForm } from "../repository/render-repository.ts";
import type { Database, SqlExecutor } from "./db.ts";
import {
  createTableSql,
  describeLoss,
  planRepositoryChange,
  repositoryTables,
  type RepositoryLoss,
} from "./repository-tables.ts";

/** The hash migration 6 records for a store whose lab tables migration 1 created. */
export const LAB_BEFORE_REPOSITORIES = "lab-before-repositories";

export interface ApplyRepositoryOptions {
  /** Drop the tables and columns the new repository no longer declares, and their data. */
  allowDestructive?: boolean | undefined;
}

export interface RepositoryApplied {
  /** The hash of the repository the store now holds. */
  hash: string;
  /** "created": a new store; "unchanged"; "migrated": tables or columns added (or, if allowed, dropped). */
  change: "created" | "unchanged" | "migrated";
  /** Each table or column added, e.g. "column subscriptions.discount". */
  added: string[];
  /** What was dropped with allowDestructive, as describeLoss words it. */
  dropped: string[];
}

type StoredRecord = {
  hash: string;
  declaration: unknown;
};

function storedLayout(record: StoredRecord, location: string): StoreLayout {
  if (record.declaration === null) return storeLayout(LAB_REPOSITORY);
  return storeLayout(
    parseFeatureRepository(JSON.stringify(record.declaration), {
      file: `the repository recorded in ${location}`,
    }),
  );
}

/**
 * Makes the store's tables those of `layout`'s repository, inside the migration's transaction:
 * creates them in a new store; in one built with another repository, adds what is new and
 * refuses, unless allowed, what would lose data (a dropped source, view or column, a retyped
 * column, another key), naming every loss. Records the repository (hash and declaration) so the
 * next open compares against what the tables really are.
 *
 * @throws FeaturesError REPOSITORY_CHANGE_DESTRUCTIVE, with `details.losses`.
 */
export async function applyRepository(
  tx: SqlExecutor,
  { layout, location }: Pick<Database, "layout" | "location">,
  options: ApplyRepositoryOptions = {},
): Promise<RepositoryApplied> {
  const rows = await tx.query<StoredRecord>(
    "SELECT hash, declaration FROM feature_repository",
  );
  const record = rows[0];
  const result = (
    change: RepositoryApplied["change"],
    added: string[] = [],
    dropped: string[] = [],
  ) => ({
    hash: layout.hash,
    change,
    added,
    dropped,
  });
  const save = () =>
    tx.execute(
      `INSERT INTO feature_repository (hash, declaration) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, declaration = EXCLUDED.declaration, applied_at = now()`,
      [layout.hash, JSON.stringify(repositoryFileForm(layout.repository))],
    );
  if (record === undefined) {
    await tx.exec(repositoryTables(layout).map(createTableSql).join("\n"));
    await save();
    return result("created");
  }
  if (record.hash === layout.hash) return result("unchanged");
  const before = storedLayout(record, location);
  const plan = planRepositoryChange(before, layout);
  if (plan.losses.length > 0 && options.allowDestructive !== true)
    throw destructiveChange(plan.losses, location);
  for (const sql of [...plan.destructive, ...plan.additive]) await tx.exec(sql);
  const views = layout.views.map((v) => v.name);
  // A dropped view's materialization record would name a view no table holds any more.
  await tx.execute(
    "DELETE FROM materializations WHERE NOT (feature_view = ANY($1::text[]))",
    [views],
  );
  await save();
  return result(
    before.hash === layout.hash && plan.added.length === 0
      ? "unchanged"
      : "migrated",
    [...plan.added],
    plan.losses.map(describeLoss),
  );
}

function destructiveChange(
  losses: readonly RepositoryLoss[],
  location: string,
): FeaturesError {
  const words = losses.map(describeLoss);
  return new FeaturesError(
    "REPOSITORY_CHANGE_DESTRUCTIVE",
    `the feature repository in force would lose data in ${location}: ${words.join("; ")}`,
    {
      hint: "Nothing was changed. Keep those declarations, point at another database, or run `streamflow db migrate --allow-destructive` to drop them.",
      details: { losses },
    },
  );
}
