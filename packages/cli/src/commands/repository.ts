import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  LAB_REPOSITORY,
  LAB_REPOSITORY_YAML,
  renderFeatureRepository,
  repositoryFileForm,
  repositoryHash,
} from "@streamflow/features";
import type { CommandContext } from "../context.ts";
import { CliError } from "../errors.ts";

export interface InitFlags {
  example: "lab";
  out: string;
  force?: boolean;
}

export async function runInit(
  ctx: CommandContext,
  flags: InitFlags,
): Promise<void> {
  const path = resolve(ctx.io.cwd, flags.out);
  try {
    await writeFile(path, LAB_REPOSITORY_YAML, {
      flag: flags.force === true ? "w" : "wx",
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new CliError("USAGE", `${path} already exists`, {
        hint: "Edit it, or pass --force to write the lab's repository over it.",
        details: { file: path },
      });
    throw new CliError(
      "USAGE",
      `cannot write ${path}: ${(error as Error).message}`,
      { details: { file: path } },
    );
  }
  ctx.result(
    {
      written: path,
      example: flags.example,
      hash: repositoryHash(LAB_REPOSITORY),
    },
    () =>
      `Wrote the ${flags.example} feature repository to ${path}.\n` +
      "Edit it to describe your own months, then check it with `streamflow features show`.",
  );
}

export function runFeaturesShow(ctx: CommandContext): Promise<void> {
  const { file, repository, hash, isLab } = ctx.config.features;
  ctx.result(
    {
      file: file ?? null,
      builtin: file === undefined,
      is_lab: isLab,
      hash,
      repository: repositoryFileForm(repository),
    },
    () =>
      `# ${file ?? "the lab's built-in feature repository"} · sha256 ${hash}${file !== undefined && isLab ? " (the lab's)" : ""}\n` +
      renderFeatureRepository(repository).trimEnd(),
  );
  return Promise.resolve();
}
