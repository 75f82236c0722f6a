import { resolve } from "node:path";
import { type CalendarDay } from "@streamflow/core";
import { generateData, generateRepositoryData } from "@streamflow/features";
import type { CommandContext } from "../context.ts";

export interface GenerateDataFlags {
  out: string;
  users: number;
  months: number;
  seed: number;
  firstAsOf: CalendarDay;
}

export async function runGenerateData(
  ctx: CommandContext,
  flags: GenerateDataFlags,
): Promise<void> {
  const started = performance.now();
  const options = {
    outDir: resolve(ctx.io.cwd, flags.out),
    users: flags.users,
    months: flags.months,
    seed: flags.seed,
    firstAsOf: flags.firstAsOf,
    onProgress: ctx.progress,
  };
  const { repository, isLab } = ctx.config.features;
  // The lab's months keep the lab's own generator (its distributions, and the bytes every
  // fingerprint and model sha256 of the quickstart rest on); any other repository gets months
  // drawn from its declarations.
  const r = isLab
    ? await generateData(options)
    : await generateRepositoryData({ ...options, repository });
  const seconds = (performance.now() - started) / 1000;
  const months = r.months.map((m) => ({
    dir: m.dir,
    as_of: m.asOf,
    rows: m.rows,
  }));
  ctx.result(
    {
      out_dir: r.outDir,
      users: r.users,
      seed: flags.seed,
      repository_hash: ctx.config.features.hash,
      months,
      files: r.files,
      bytes: r.bytes,
      duration_ms: Math.round(seconds * 1000),
    },
    () =>
      [
        `Generated ${r.months.length} month(s) of ${r.users.toLocaleString("en-US")} users in ${r.outDir} (${(r.bytes / 1e6).toFixed(1)} MB, ${seconds.toFixed(1)} s)`,
        ...months.map(
          (m) =>
            `  ${m.dir}  as of ${m.as_of}   streamflow ingest --month-dir ${r.outDir}/${m.dir} --as-of ${m.as_of}`,
        ),
      ].join("\n"),
  );
}
