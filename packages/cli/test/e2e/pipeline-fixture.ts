import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { runCliProcess } from "./spawn-cli.ts";

// What the end-to-end tests of `pipeline run` share: generated months, one store per test, and
// the one recipe every run uses, so that two runs of the same month can be compared.

export const MONTHS = ["2024-01-31", "2024-02-29"];

/** Generates two months of `users` users; returns the directory holding month_000 and month_001. */
export async function generateMonths(users: number): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), "sf-pipeline-data-"));
  const data = join(work, "data");
  const g = await runCliProcess(
    ["generate-data", "--users", String(users), "--months", "2", "--out", data],
    { cwd: work, env: { STREAMFLOW_HOME: join(work, "home") } },
  );
  expect(g.code, g.stderr).toBe(0);
  return data;
}

/** The environment of a store on `url` with its home under `cwd` (no MLflow, no config file). */
export function storeEnv(url: string | undefined, cwd: string) {
  return {
    STREAMFLOW_DATABASE_URL: url,
    STREAMFLOW_HOME: join(cwd, "home"),
    MLFLOW_TRACKING_URI: undefined,
    STREAMFLOW_CONFIG: undefined,
  };
}

/** `pipeline run` of month `i`: retrain always, promote on any gain, score, a small forest. */
export function monthRunArgs(
  data: string,
  i: number,
  extra: readonly string[] = [],
): string[] {
  return [
    "pipeline",
    "run",
    "--month-dir",
    join(data, `month_00${i}`),
    "--as-of",
    MONTHS[i]!,
    "--retrain",
    "always",
    "--min-delta",
    "0",
    "--score",
    "--n-estimators",
    "30",
    ...extra,
  ];
}
