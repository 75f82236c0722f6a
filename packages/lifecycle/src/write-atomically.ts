import { rename, writeFile } from "node:fs/promises";

/** Writes beside the target and renames: a crash never leaves a half-written file under its name. */
export async function writeAtomically(
  path: string,
  text: string,
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
