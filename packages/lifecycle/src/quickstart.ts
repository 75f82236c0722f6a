import { open } from "node:fs/promises";
import { join } from "node:path";
import {
  SILENT_LOGGER,
  type Logger,
  type ProgressListener,
  parseCalendarDay,
} from "@streamflow/core";
import {
  buildDataset,
  checkOnline,
  generateData,
  ingestMonth,
  materialize,
  USER_ENTITY,
  type BuildDatasetResult,
  type CheckOnlineResult,
  type Database,
  type GenerateDataResult,
  type IngestMonthResult,
  type MaterializeResult,
} from "@streamflow/features";
import type { Registry } from "@streamflow/registry-client";
import {
  trainAndRegister,
  type TrainAndRegisterResult,
} from "./registration.ts";
import type { PendingRunJournal } from "./tracked-run.ts";
import type { TrainingRecipe } from "./training.ts";

export interface QuickstartOptions {
  db: Database;
  registry: Registry;
  pendingRuns: PendingRunJournal;
  /** Folder for the generated months, the training set and the run's files (created). */
  dir: string;
  users: number;
  seed: number;
  /** The forest; `recipe.seed` is the data seed unless given. */
  recipe: Omit<TrainingRecipe, "seed"> & { seed?: number };
  modelName: string;
  experiment: string;
  /** Extra run tags. */
  tags?: Readonly<Record<string, string>>;
  logger?: Logger;
  onProgress?: ProgressListener;
}

export interface QuickstartResult {
  data: GenerateDataResult;
  ingests: IngestMonthResult[];
  dataset: BuildDatasetResult;
  online: MaterializeResult;
  check: CheckOnlineResult;
  trained: TrainAndRegisterResult;
  /** A user of the last month, for a sample prediction. */
  sampleUserId: string;
}

const FIRST_AS_OF = parseCalendarDay("2024-01-31");
const MONTHS = 2;

/**
 * The whole forward path on synthetic data: two generated months ingested, a training set built
 * as of the first, the online store materialized as of the last and checked, a model trained,
 * registered and promoted to Production (archiving the previous holder).
 */
export async function quickstart(
  options: QuickstartOptions,
): Promise<QuickstartResult> {
  const { db, registry, dir } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const onProgress = options.onProgress ?? (() => undefined);
  logger.info(
    `generating ${options.users} synthetic users × ${MONTHS} months in ${join(dir, "data")}`,
  );
  const data = await generateData({
    outDir: join(dir, "data"),
    users: options.users,
    months: MONTHS,
    seed: options.seed,
    firstAsOf: FIRST_AS_OF,
    onProgress,
  });
  const ingests: IngestMonthResult[] = [];
  for (const month of data.months) {
    logger.info(`ingesting ${month.dir} as of ${month.asOf}`);
    // A demo re-run with other options must not trip over its own earlier snapshots.
    ingests.push(
      await ingestMonth({
        db,
        monthDir: join(data.outDir, month.dir),
        asOf: month.asOf,
        replace: true,
        onProgress,
      }),
    );
  }
  const first = data.months[0]!.asOf;
  const last = data.months[data.months.length - 1]!.asOf;
  logger.info(`building the training set as of ${first}`);
  const dataset = await buildDataset({
    db,
    asOf: first,
    out: join(dir, `train_${first}.csv`),
    onProgress,
  });
  logger.info(`materializing the online store as of ${last}`);
  const online = await materialize({ db, asOf: last });
  const check = await checkOnline({ db, minCoverage: 0.99 });
  logger.info(
    `training the churn model as of ${first} (${options.recipe.nEstimators} trees), registering it and promoting it to Production`,
  );
  const trained = await trainAndRegister({
    db,
    registry,
    pendingRuns: options.pendingRuns,
    asOf: first,
    recipe: { seed: options.seed, ...options.recipe },
    outDir: join(dir, "runs", `rf_baseline_${first}`),
    experiment: options.experiment,
    modelName: options.modelName,
    ...(options.tags ? { tags: options.tags } : {}),
    logger,
    onProgress,
  });
  await registry.transitionModelVersionStage({
    name: options.modelName,
    version: trained.registered.modelVersion,
    stage: "Production",
    archiveExistingVersions: true,
  });
  const sampleUserId = await firstUserId(
    join(
      data.outDir,
      data.months[data.months.length - 1]!.dir,
      `${USER_ENTITY.sourceFile}.csv`,
    ),
  );
  return { data, ingests, dataset, online, check, trained, sampleUserId };
}

/** The first entity id of a generated month's first file (its first column), without reading the whole file. */
async function firstUserId(csvPath: string): Promise<string> {
  const file = await open(csvPath);
  try {
    const { buffer, bytesRead } = await file.read({
      buffer: Buffer.alloc(4096),
    });
    const line =
      buffer.subarray(0, bytesRead).toString("utf8").split("\n")[1] ?? "";
    return line.split(",")[0]!;
  } finally {
    await file.close();
  }
}
