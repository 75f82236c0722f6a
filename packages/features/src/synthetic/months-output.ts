import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CoreError } from "@streamflow/core";
import { AtomicFileWriter } from "./atomic-file.ts";

/** What both generators write around their months: the directory, the names, `months.json`. */

const MONTHS_FILE = "months.json";

/** The output directory, resolved and created. @throws CoreError INVALID_ARGUMENT when it cannot be. */
export async function createOutputDir(dir: string): Promise<string> {
  const outDir = resolve(dir);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `cannot create output directory '${outDir}'`,
      { hint: "choose a directory you can write to", cause },
    );
  }
  return outDir;
}

export function monthDir(m: number): string {
  return `month_${String(m).padStart(3, "0")}`;
}

/** The last day of the `offset`-th month after `firstAsOf`'s month, 00:00 UTC. */
export function monthEnd(firstAsOf: Date, offset: number): Date {
  // Day 0 of the following month is the last day of this one, leap years included.
  return new Date(
    Date.UTC(
      firstAsOf.getUTCFullYear(),
      firstAsOf.getUTCMonth() + offset + 1,
      0,
    ),
  );
}

/** Writes `months.json` (each month's directory and as_of) atomically; returns its size. */
export async function writeMonthsIndex(
  outDir: string,
  months: readonly { dir: string; asOf: string }[],
): Promise<number> {
  const file = new AtomicFileWriter(join(outDir, MONTHS_FILE));
  try {
    file.write(
      JSON.stringify({
        months: months.map((g) => ({ dir: g.dir, as_of: g.asOf })),
      }) + "\n",
    );
    await file.commit();
  } catch (error) {
    await file.abort();
    throw error;
  }
  return file.bytes;
}
