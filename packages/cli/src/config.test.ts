import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "./config.ts";
import type { CliIo } from "./io.ts";

const io = (cwd: string, env: Record<string, string> = {}): CliIo => ({
  cwd,
  env,
  stdout: { write: () => true },
  stderr: { write: () => true },
});

describe("configuration precedence: flag > env > streamflow.config.json > default", () => {
  it("defaults to the embedded database under ./.streamflow", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "sf-cfg-"));
    const config = await resolveConfig({}, io(cwd));
    expect(config).toMatchObject({
      databaseUrl: undefined,
      home: join(cwd, ".streamflow"),
      pgDataDir: join(cwd, ".streamflow", "pgdata"),
      json: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("takes the file, then env over it, then the flag over both", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "sf-cfg-"));
    await writeFile(
      join(cwd, "streamflow.config.json"),
      JSON.stringify({ databaseUrl: "postgres://file/db", home: "from-file" }),
    );
    expect(await resolveConfig({}, io(cwd))).toMatchObject({
      databaseUrl: "postgres://file/db",
      home: join(cwd, "from-file"),
    });
    const env = {
      STREAMFLOW_DATABASE_URL: "postgres://env/db",
      STREAMFLOW_HOME: "/abs/env",
    };
    expect(await resolveConfig({}, io(cwd, env))).toMatchObject({
      databaseUrl: "postgres://env/db",
      home: "/abs/env",
    });
    expect(
      await resolveConfig(
        { databaseUrl: "postgres://flag/db", home: "h" },
        io(cwd, env),
      ),
    ).toMatchObject({
      databaseUrl: "postgres://flag/db",
      home: join(cwd, "h"),
    });
  });

  it("treats an empty env value as unset", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "sf-cfg-"));
    expect(
      (await resolveConfig({}, io(cwd, { STREAMFLOW_DATABASE_URL: "" })))
        .databaseUrl,
    ).toBeUndefined();
  });

  it("refuses an invalid config file, listing each problem", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "sf-cfg-"));
    await writeFile(
      join(cwd, "streamflow.config.json"),
      JSON.stringify({ databaseUrl: 5, colour: "red" }),
    );
    const error = await resolveConfig({}, io(cwd)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    expect((error as Error).message).toContain("databaseUrl");
    expect((error as Error).message).toContain("colour");
    await writeFile(join(cwd, "streamflow.config.json"), "{ not json");
    await expect(resolveConfig({}, io(cwd))).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
  });
});
