import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli } from "./run-cli.ts";

it("resolves relative path flags against the caller's directory, not the process's", async () => {
  const work = await mkdtemp(join(tmpdir(), "sf-relative-"));
  const env = {
    STREAMFLOW_HOME: "home",
    STREAMFLOW_DATABASE_URL: undefined,
    MLFLOW_TRACKING_URI: undefined,
  };
  const cli = async (...argv: string[]) => {
    const r = await runCli(argv, env, work);
    expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
    return r;
  };
  const name = `sf-relative-${process.pid}`;
  await cli("generate-data", "--users", "60", "--months", "1", "--out", name);
  expect(existsSync(join(work, name, "month_000", "subscriptions.csv"))).toBe(
    true,
  );
  expect(existsSync(join(process.cwd(), name))).toBe(false);
  await cli(
    "ingest",
    "--month-dir",
    join(name, "month_000"),
    "--as-of",
    "2024-01-31",
  );
  await cli("build-dataset", "--as-of", "2024-01-31", "--out", "ds.csv");
  expect(existsSync(join(work, "ds.csv"))).toBe(true);
  expect(existsSync(join(work, "home"))).toBe(true);
});
