import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

/** Every file under `dir`, as '/'-separated paths relative to it, sorted. */
export async function listFilesRecursive(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .sort();
}

/** A sibling temp name: same folder, so the final rename stays on one file system and is atomic. */
export function tempSibling(path: string): string {
  return join(
    dirname(path),
    `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`,
  );
}

/** Writes through a temp file and a rename, so readers see the old file or the whole new one. */
export async function writeFileAtomic(
  path: string,
  content: string | Uint8Array,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempSibling(path);
  try {
    await writeFile(temp, content);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}

const CONTENT_TYPES: Record<string, string> = {
  json: "application/json",
  yaml: "application/x-yaml",
  yml: "application/x-yaml",
  txt: "text/plain",
  csv: "text/csv",
  html: "text/html",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
};

/** Content type by extension, as the Python client guesses it, so the UI previews images and text. */
export function contentTypeFor(path: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (
    (ext !== undefined ? CONTENT_TYPES[ext] : undefined) ??
    "application/octet-stream"
  );
}
