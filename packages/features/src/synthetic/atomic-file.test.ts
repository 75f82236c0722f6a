import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AtomicFileWriter } from "./atomic-file.ts";

describe("AtomicFileWriter", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "streamflow-atomic-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("shows nothing under the final name until committed", async () => {
    const w = new AtomicFileWriter(join(dir, "a.csv"));
    w.write("h\n");
    await w.drain();
    w.write("1\n");
    expect(await readdir(dir)).not.toContain("a.csv");
    await w.commit();
    expect(await readdir(dir)).toEqual(["a.csv"]);
    expect(await readFile(join(dir, "a.csv"), "utf8")).toBe("h\n1\n");
    expect(w.bytes).toBe(4);
  });

  it("leaves neither file behind when aborted", async () => {
    const w = new AtomicFileWriter(join(dir, "a.csv"));
    w.write("half a fi");
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it("keeps a previous complete file when the new one is aborted", async () => {
    const first = new AtomicFileWriter(join(dir, "a.csv"));
    first.write("old\n");
    await first.commit();
    const second = new AtomicFileWriter(join(dir, "a.csv"));
    second.write("new but unfinis");
    await second.abort();
    expect(await readFile(join(dir, "a.csv"), "utf8")).toBe("old\n");
  });

  it("rejects the commit when the file cannot be written", async () => {
    await mkdir(join(dir, "a.csv.partial"));
    const w = new AtomicFileWriter(join(dir, "a.csv"));
    w.write("x\n");
    await expect(w.commit()).rejects.toThrow(/EISDIR/);
    await w.abort();
  });
});
