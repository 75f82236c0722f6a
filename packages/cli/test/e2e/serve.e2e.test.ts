import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  assertBuilt,
  runCliProcess,
  spawnCli,
  type Spawned,
} from "./spawn-cli.ts";

const NO_DB = {
  STREAMFLOW_DATABASE_URL: undefined,
  STREAMFLOW_HOME: undefined,
  STREAMFLOW_CONFIG: undefined,
  MLFLOW_TRACKING_URI: undefined,
  STREAMFLOW_API_TOKEN: undefined,
};

let cwd: string;
let userId: string;

beforeAll(async () => {
  assertBuilt();
  cwd = await mkdtemp(join(tmpdir(), "sf-serve-e2e-"));
  const qs = await runCliProcess(
    ["quickstart", "--users", "800", "--n-estimators", "20", "--json"],
    { cwd, env: NO_DB },
  );
  expect(qs.code, qs.stderr).toBe(0);
  userId = (JSON.parse(qs.stdout) as { serve: { sample: { user_id: string } } })
    .serve.sample.user_id;
});

/** Starts `streamflow serve --port 0 --json` and waits for the JSON line that says where it listens. */
async function serve(
  extra: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<{ server: Spawned; url: string }> {
  const server = spawnCli(["serve", "--port", "0", "--json", ...extra], {
    cwd,
    env: { ...NO_DB, ...env },
  });
  const deadline = Date.now() + 60_000;
  while (!server.stdout().trim().endsWith("}")) {
    if (server.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`serve did not start: ${(await server.done).stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { server, url: (JSON.parse(server.stdout()) as { url: string }).url };
}

const predict = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ user_id: userId }),
  });

describe("streamflow serve (the built binary)", () => {
  it("serves the promoted model, and on SIGTERM drains, frees the port and exits 0", async () => {
    const { server, url } = await serve();
    const started = JSON.parse(server.stdout()) as {
      model: { name: string; version: string; stage: string } | null;
      auth: boolean;
    };
    expect(started).toMatchObject({
      model: { name: "streamflow_churn", version: "1", stage: "Production" },
      auth: false,
    });
    const r = await predict(url);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      user_id: userId,
      model: { version: "1" },
    });
    server.child.kill("SIGTERM");
    const done = await server.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain("SIGTERM: draining in-flight requests");
    expect(done.stderr).toContain('"msg":"stopped"');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it("exits 2 with LISTEN_FAILED when the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve),
    );
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCliProcess(["serve", "--port", String(port)], {
        cwd,
        env: NO_DB,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("LISTEN_FAILED");
      expect(r.stderr).toContain(`Port ${port} is taken`);
    } finally {
      blocker.close();
    }
  });

  it("exits 2 when --api-token-env names an unset variable", async () => {
    const r = await runCliProcess(
      ["serve", "--api-token-env", "SF_TOKEN_THAT_IS_NOT_SET"],
      { cwd, env: NO_DB },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("SF_TOKEN_THAT_IS_NOT_SET");
  });

  it("exits 2 when the token variable is set but empty, instead of serving without auth", async () => {
    for (const [args, env, name] of [
      [[], { STREAMFLOW_API_TOKEN: "" }, "STREAMFLOW_API_TOKEN"],
      [
        ["--api-token-env", "SF_EMPTY_TOKEN"],
        { SF_EMPTY_TOKEN: "" },
        "SF_EMPTY_TOKEN",
      ],
    ] as const) {
      const r = await runCliProcess(["serve", "--port", "0", ...args], {
        cwd,
        env: { ...NO_DB, ...env },
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("set a non-empty token or unset the variable");
      expect(r.stderr).toContain(name);
    }
  });

  it("writes only JSON lines on stderr while serving, the registry client's retry warnings included", async () => {
    // A tracking server that refuses connections: the registry client warns before its retry.
    const closed = createServer();
    await new Promise<void>((resolve) =>
      closed.listen(0, "127.0.0.1", resolve),
    );
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const { server } = await serve([], {
      MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
    });
    server.child.kill("SIGTERM");
    const done = await server.done;
    expect(done.code, done.stderr).toBe(0);
    const lines = done.stderr.split("\n").filter((l) => l.trim() !== "");
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== "object";
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(
      lines.some((l) => l.includes("retry") && l.includes('"level":40')),
    ).toBe(true);
  });

  it("requires the token from STREAMFLOW_API_TOKEN when it is set, and never prints it", async () => {
    const token = "e2e-" + "k".repeat(32);
    const { server, url } = await serve(["--log-level", "debug"], {
      STREAMFLOW_API_TOKEN: token,
    });
    try {
      expect((await predict(url)).status).toBe(401);
      expect(
        (await predict(url, { authorization: `Bearer ${token}` })).status,
      ).toBe(200);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      server.child.kill("SIGTERM");
    }
    const done = await server.done;
    expect(done.code).toBe(0);
    expect(done.stdout + done.stderr).not.toContain(token);
  });
});
