import { lstat, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { join } from "node:path";
import { FeaturesError } from "../errors.ts";
import type { StoreLayout } from "../layout.ts";
import type { ValidationIssue } from "./month-reader.ts";

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a named pipe";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** What is wrong with one CSV path, or undefined when it is a regular file (possibly through a symlink). */
async function fileProblem(
  path: string,
): Promise<Pick<ValidationIssue, "rule" | "message"> | undefined> {
  let link: Stats;
  try {
    link = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { rule: "file_missing", message: "is missing" };
    return {
      rule: "readable",
      message: `cannot be read (${(error as Error).message})`,
    };
  }
  if (!link.isSymbolicLink())
    return link.isFile()
      ? undefined
      : {
          rule: "regular_file",
          message: `is ${kindOf(link)}, not a regular file`,
        };
  try {
    const target = await stat(path);
    return target.isFile()
      ? undefined
      : {
          rule: "regular_file",
          message: `is a symbolic link to ${kindOf(target)}, not a regular file`,
        };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP")
      return {
        rule: "regular_file",
        message: "is a symbolic link loop, not a regular file",
      };
    if (code === "ENOENT")
      return {
        rule: "regular_file",
        message:
          "is a symbolic link to nothing (its target does not exist), not a regular file",
      };
    return {
      rule: "readable",
      message: `cannot be read (${(error as Error).message})`,
    };
  }
}

/**
 * Checks, before anything is read or loaded, that the directory exists and holds every source
 * file of the repository as a regular file. A directory that is not there is a wrong argument; a month without one of its
 * files, or with a directory or a symlink loop in its place, is a bad month.
 *
 * @throws FeaturesError INPUT_NOT_FOUND for the directory, INPUT_INVALID listing every missing or irregular file.
 */
export async function checkMonthDirectory(
  dir: string,
  layout: StoreLayout,
): Promise<void> {
  const found = await stat(dir).then(
    (st) => (st.isDirectory() ? "ok" : "not a directory"),
    () => "does not exist",
  );
  if (found !== "ok") {
    throw new FeaturesError(
      "INPUT_NOT_FOUND",
      `month directory '${dir}' ${found}`,
      {
        hint: `Pass the directory that holds the ${layout.sources.length} source files of one month (${fileList(layout)}), e.g. --month-dir data/month_000.`,
        details: { dir },
      },
    );
  }
  const issues: ValidationIssue[] = [];
  for (const spec of layout.sources) {
    const file = spec.file;
    const problem = await fileProblem(join(dir, file));
    if (problem !== undefined)
      issues.push({
        file,
        line: 0,
        column: "(file)",
        value: join(dir, file),
        ...problem,
      });
  }
  if (issues.length === 0) return;
  const first = issues[0]!;
  throw new FeaturesError(
    "INPUT_INVALID",
    `${first.file} ${first.message} in ${dir} [rule ${first.rule}]` +
      (issues.length > 1
        ? ` (and ${issues.length - 1} more: ${issues
            .slice(1)
            .map((i) => `${i.file} ${i.message}`)
            .join("; ")})`
        : ""),
    {
      hint: `A month directory holds ${fileList(layout)}, each a regular file. Nothing was written.`,
      details: { dir, errors: issues },
    },
  );
}

/** "users.csv, subscriptions.csv and labels.csv": the files a month of this repository holds. */
function fileList(layout: StoreLayout): string {
  const files = layout.sources.map((s) => s.file);
  return files.length === 1
    ? files[0]!
    : `${files.slice(0, -1).join(", ")} and ${files[files.length - 1]!}`;
}
