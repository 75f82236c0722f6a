import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "@streamflow/test-utils";
import { createLocalRegistry } from "@streamflow/registry-client";
import {
  expectRegistryError,
  registryContract,
  unique,
} from "./registry-contract.ts";

const execFileAsync = promisify(execFile);
const FIXTURE = fileURLToPath(
  new URL("./fixtures/create-versions.ts", import.meta.url),
);

describe("local registry", () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "sf-local-registry-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("Registry contract", () => {
    registryContract(() => ({ open: () => createLocalRegistry({ root }) }));
  });

  it("says where it is", async () => {
    expect(await createLocalRegistry({ root }).describe()).toEqual({
      kind: "local",
      location: root,
      serverVersion: undefined,
    });
  });

  it("gives two processes writing at once consecutive versions and loses none", async () => {
    const name = unique("concurrent");
    const perWriter = 40;
    const gate = join(root, `gate-${name}`);
    const writer = (): Promise<{ source: string; versions: string[] }> =>
      execFileAsync(
        process.execPath,
        [
          "--conditions=@streamflow/source",
          "--import",
          "tsx",
          FIXTURE,
          root,
          name,
          String(perWriter),
          gate,
        ],
        {
          cwd: REPO_ROOT,
        },
      ).then(
        ({ stdout }) =>
          JSON.parse(stdout) as { source: string; versions: string[] },
      );
    const writers = Promise.all([writer(), writer()]);
    while (
      (await readdir(root)).filter((f) => f.startsWith(`gate-${name}.ready-`))
        .length < 2
    )
      await new Promise((r) => setTimeout(r, 20));
    await writeFile(gate, "");
    const [a, b] = await writers;
    const all = [...a.versions, ...b.versions]
      .map(Number)
      .sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 2 * perWriter }, (_, i) => i + 1));
    const stored = await createLocalRegistry({ root }).searchModelVersions({
      name,
    });
    expect(stored.map((v) => Number(v.version))).toEqual([...all].reverse());
    // Each stored version holds the source of the writer that was handed its number.
    const owner = new Map([
      ...a.versions.map((v) => [v, a.source] as const),
      ...b.versions.map((v) => [v, b.source] as const),
    ]);
    expect(stored.every((v) => owner.get(v.version) === v.source)).toBe(true);
  });

  it("takes over a lock left by a process that died, and times out on a live one", async () => {
    const registry = createLocalRegistry({ root, lockTimeoutMs: 300 });
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const lock = join(root, ".lock");
    await writeFile(
      lock,
      JSON.stringify({ pid: dead, host: hostname(), nonce: "gone" }),
    );
    const name = unique("after_stale_lock");
    await registry.createRegisteredModel({ name });
    expect((await registry.getRegisteredModel(name)).name).toBe(name);

    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: hostname(), nonce: "held" }),
    );
    try {
      const error = await expectRegistryError(
        registry.createRegisteredModel({ name: unique("blocked") }),
        "REGISTRY_LOCK_TIMEOUT",
      );
      expect(error.message).toContain(`process ${process.pid}`);
      expect(JSON.parse(await readFile(lock, "utf8"))).toMatchObject({
        nonce: "held",
      });
    } finally {
      await rm(lock, { force: true });
    }
  });

  it("reports a damaged registry file instead of guessing", async () => {
    const damaged = await mkdtemp(join(tmpdir(), "sf-local-registry-bad-"));
    try {
      await writeFile(join(damaged, "experiments.json"), "{ not json");
      await expectRegistryError(
        createLocalRegistry({ root: damaged }).getExperimentByName("x"),
        "REGISTRY_STORAGE",
      );
      await writeFile(
        join(damaged, "experiments.json"),
        JSON.stringify({
          format: "streamflow.local-registry",
          formatVersion: 99,
          experiments: [],
        }),
      );
      const error = await expectRegistryError(
        createLocalRegistry({ root: damaged }).getExperimentByName("x"),
        "REGISTRY_STORAGE",
      );
      expect(error.message).toContain("format version 1");
    } finally {
      await rm(damaged, { recursive: true, force: true });
    }
  });

  it("refuses MLflow 3 logged-model URIs it cannot hold", async () => {
    await expectRegistryError(
      createLocalRegistry({ root }).resolveArtifactLocation(
        "models:/m-0123abcd",
      ),
      "REGISTRY_URI_INVALID",
    );
  });
});
