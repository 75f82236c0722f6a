import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Where the lab's data files are read from (never copied into the repository). */
export function labDataDir(): string {
  return resolve(
    REPO_ROOT,
    process.env["STREAMFLOW_LAB_DATA"] ?? "../shared/data/streamflow",
  );
}

/**
 * Why lab-data tests cannot run, or undefined when they can. The only test skip the project
 * allows, and it always says why.
 */
export function labDataMissingReason(): string | undefined {
  const dir = labDataDir();
  for (const month of ["month_000", "month_001"]) {
    if (!existsSync(join(dir, month, "users.csv"))) {
      return `lab data not found at ${dir} (set STREAMFLOW_LAB_DATA to the folder holding month_000 and month_001)`;
    }
  }
  return undefined;
}

export { REPO_ROOT };
