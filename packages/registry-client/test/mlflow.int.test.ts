import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MLFLOW_LINES,
  startMlflowServer,
  type MlflowServer,
} from "@streamflow/test-utils";
import {
  createMlflowClient,
  type MlflowClientOptions,
  type Registry,
} from "@streamflow/registry-client";
import {
  expectRegistryError,
  registryContract,
  unique,
} from "./registry-contract.ts";

// A self-signed certificate for 127.0.0.1 (EC P-256, valid until 2126), made for this test only.
const TEST_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6Nm26JpcHWXgahAj
T8SkCsOOw7dZzj6adFpOpuFBRVWhRANCAAQxWZfWB80aF6XIgMjq6DqqfnOp182C
lPb75zVLGTlaYg/zxnPUrTFGVK/S5FAsKYeJ9mmfdtgHj7MWIKqXim2m
-----END PRIVATE KEY-----`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUDFmppJh+H6QPmGAhSCraej7HfZkwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNjE1MDUwMloYDzIxMjYxMTAy
MTUwNTAyWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQxWZfWB80aF6XIgMjq6DqqfnOp182ClPb75zVLGTlaYg/zxnPUrTFG
VK/S5FAsKYeJ9mmfdtgHj7MWIKqXim2mo2QwYjAdBgNVHQ4EFgQUd5BaUHuWiFVm
EIk9VEhlYoOlpa8wHwYDVR0jBBgwFoAUd5BaUHuWiFVmEIk9VEhlYoOlpa8wDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQDfVfhcM8owMrp3h1hEBA4dF7EOV4QtaTD8zan/lY0CIgIhAIbdu2qzdel4mhhL
naCUv9jqvwzX+4uKwlIMURNrWmu2
-----END CERTIFICATE-----`,
};

const noSleep = (): Promise<void> => Promise.resolve();

/** A throwaway HTTP server on 127.0.0.1; `handler` sees every request. */
async function localServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server } & AsyncDisposable> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null)
    throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    server,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  await using s = await localServer(() => undefined);
  return Number(new URL(s.url).port);
}

function client(
  options: Partial<MlflowClientOptions> & { trackingUri: string },
): Registry {
  return createMlflowClient({ maxRetries: 3, sleep: noSleep, ...options });
}

describe("MlflowClient against faulty servers", () => {
  it("retries a refused connection a bounded number of times, then says the server is unavailable (credentials redacted)", async () => {
    const port = await deadPort();
    const delays: number[] = [];
    const registry = client({
      trackingUri: `http://alice:s3cret-pass@127.0.0.1:${port}`,
      maxRetries: 3,
      random: () => 0.5,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    const error = await expectRegistryError(
      registry.getRegisteredModel("streamflow_churn"),
      "REGISTRY_UNAVAILABLE",
    );
    // urllib3's schedule with factor 2 and jitter 1 (U = 0.5): nothing, then 2·2^(n−1) + 0.5 s.
    expect(delays).toEqual([0, 4500, 8500]);
    expect(error.message).toContain(`http://***@127.0.0.1:${port}`);
    expect(error.message).toContain("after 3 retries");
    expect(
      `${error.message} ${error.hint} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`,
    ).not.toContain("s3cret");
    // A refused connection proves the request never arrived, so even a create is retried.
    delays.length = 0;
    await expectRegistryError(
      registry.createRun({ experimentId: "1" }),
      "REGISTRY_UNAVAILABLE",
    );
    expect(delays).toHaveLength(3);
    await registry.close();
  });

  it("reports a server that answers HTML as not being MLflow", async () => {
    await using html = await localServer((_req, res) => {
      res
        .writeHead(200, { "Content-Type": "text/html" })
        .end("<!doctype html><html><body>Welcome to nginx!</body></html>");
    });
    const error = await expectRegistryError(
      client({ trackingUri: html.url }).getExperimentByName("streamflow"),
      "REGISTRY_PROTOCOL",
    );
    expect(error.message).toMatch(
      /Is this an MLflow server\? The URL http:\/\/127\.0\.0\.1:\d+ answered GET \/api\/2\.0\/mlflow\/experiments\/get-by-name with HTTP 200 text\/html/,
    );
    await using notFound = await localServer((_req, res) => {
      res
        .writeHead(404, { "Content-Type": "text/html" })
        .end("<h1>Not Found</h1>");
    });
    await expectRegistryError(
      client({ trackingUri: notFound.url }).getRegisteredModel("m"),
      "REGISTRY_PROTOCOL",
    );
  });

  it("retries a 503, waiting what Retry-After says, and then succeeds", async () => {
    let calls = 0;
    await using flaky = await localServer((_req, res) => {
      calls += 1;
      if (calls === 1) {
        res
          .writeHead(503, { "Retry-After": "7", "Content-Type": "text/plain" })
          .end("busy");
        return;
      }
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ registered_model: { name: "m", aliases: [] } }));
    });
    const delays: number[] = [];
    const registry = client({
      trackingUri: flaky.url,
      sleep: (ms) => (delays.push(ms), Promise.resolve()),
    });
    expect((await registry.getRegisteredModel("m")).name).toBe("m");
    expect(calls).toBe(2);
    expect(delays).toEqual([7000]);
  });

  it("gives up on a 5xx storm after the retries, and never resends an ambiguous create", async () => {
    const seen: string[] = [];
    await using storm = await localServer((req, res) => {
      seen.push(req.url ?? "");
      res
        .writeHead(500, { "Content-Type": "application/json" })
        .end(
          JSON.stringify({ error_code: "INTERNAL_ERROR", message: "db down" }),
        );
    });
    const registry = client({ trackingUri: storm.url, maxRetries: 2 });
    const get = await expectRegistryError(
      registry.getRun("abc"),
      "REGISTRY_UNAVAILABLE",
    );
    expect(get).toMatchObject({
      httpStatus: 500,
      mlflowErrorCode: "INTERNAL_ERROR",
    });
    expect(get.message).toContain("after 2 retries");
    expect(seen).toHaveLength(3);
    seen.length = 0;
    // A 500 may come after the server created the run: resending could leave a second, orphaned run.
    await expectRegistryError(
      registry.createRun({ experimentId: "1" }),
      "REGISTRY_UNAVAILABLE",
    );
    expect(seen).toHaveLength(1);
  });

  it("times out a server that never answers", async () => {
    await using silent = await localServer(() => undefined);
    const error = await expectRegistryError(
      client({ trackingUri: silent.url, timeoutMs: 200, maxRetries: 1 }).getRun(
        "abc",
      ),
      "REGISTRY_UNAVAILABLE",
    );
    expect(error.message).toContain("MLFLOW_HTTP_REQUEST_TIMEOUT");
  });

  it("maps 401 and 403 to an auth error, sends the token as a bearer header and never shows it", async () => {
    const headers: (string | undefined)[] = [];
    await using guarded = await localServer((req, res) => {
      headers.push(req.headers.authorization);
      const status =
        req.url?.includes("registered-models") === true ? 403 : 401;
      res
        .writeHead(status, { "Content-Type": "text/plain" })
        .end("You are not authenticated.");
    });
    const registry = client({
      trackingUri: guarded.url,
      token: "tok-XYZ-secret",
    });
    const error = await expectRegistryError(
      registry.getRun("abc"),
      "REGISTRY_AUTH",
    );
    expect(error.httpStatus).toBe(401);
    expect(error.hint).toContain("MLFLOW_TRACKING_TOKEN");
    expect(`${error.message} ${inspect(error, { depth: 10 })}`).not.toContain(
      "tok-XYZ-secret",
    );
    expect(
      (
        await expectRegistryError(
          registry.getRegisteredModel("m"),
          "REGISTRY_AUTH",
        )
      ).httpStatus,
    ).toBe(403);
    expect(headers[0]).toBe("Bearer tok-XYZ-secret");

    const basic = client({
      trackingUri: guarded.url,
      token: "ignored",
      username: "ann",
      password: "pw:1",
    });
    await expectRegistryError(basic.getRun("abc"), "REGISTRY_AUTH");
    expect(headers.at(-1)).toBe(
      `Basic ${Buffer.from("ann:pw:1").toString("base64")}`,
    );
  });

  it("refuses a self-signed certificate unless insecureTls is set, without retrying", async () => {
    const server = createHttpsServer(TEST_TLS, (_req, res) => {
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ registered_model: { name: "m" } }));
    });
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve),
    );
    const { port } = server.address() as { port: number };
    try {
      const delays: number[] = [];
      const strict = client({
        trackingUri: `https://127.0.0.1:${port}`,
        sleep: (ms) => (delays.push(ms), Promise.resolve()),
      });
      const error = await expectRegistryError(
        strict.getRegisteredModel("m"),
        "REGISTRY_UNAVAILABLE",
      );
      expect(error.hint).toContain("MLFLOW_TRACKING_INSECURE_TLS");
      expect(delays).toEqual([]);
      const insecure = client({
        trackingUri: `https://127.0.0.1:${port}`,
        insecureTls: true,
      });
      expect((await insecure.getRegisteredModel("m")).name).toBe("m");
      await Promise.all([strict.close(), insecure.close()]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("refuses a tracking URI that is not http(s)", () => {
    expect(() =>
      createMlflowClient({ trackingUri: "file:///tmp/mlruns" }),
    ).toThrow(/not an http\(s\) URL/);
    expect(() => createMlflowClient({ trackingUri: "databricks" })).toThrow(
      /not a URL/,
    );
  });
});

describe.each(MLFLOW_LINES)("MLflow %s.x server", (line) => {
  let server: MlflowServer;

  beforeAll(async () => {
    server = await startMlflowServer({ line });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("runs the line it was asked for", async () => {
    expect(server.version.split(".")[0]).toBe(line);
    const info = await client({ trackingUri: server.url }).describe();
    expect(info).toEqual({
      kind: "mlflow",
      location: server.url,
      serverVersion: server.version,
    });
  });

  describe("Registry contract", () => {
    registryContract(() => ({
      open: () => client({ trackingUri: server.url }),
    }));
  });

  it("does not duplicate metric points when a log-batch is retried after a 5xx the server had already processed", async () => {
    // A proxy that forwards the first log-batch, lets the server store it, then tells the client 503.
    let failedOnce = false;
    await using proxy = await localServer((req, res) => {
      const upstream = new URL(server.url);
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          if (!failedOnce && req.url?.endsWith("/runs/log-batch") === true) {
            failedOnce = true;
            answer.resume();
            answer.on("end", () =>
              res
                .writeHead(503, { "Content-Type": "text/plain" })
                .end("upstream hiccup"),
            );
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(forward);
    });
    const registry = client({ trackingUri: proxy.url });
    const experiment = await registry.getOrCreateExperiment(unique("retry"));
    const run = await registry.createRun({
      experimentId: experiment.experimentId,
    });
    // No explicit timestamps: the client must fix them once, before the first attempt.
    await registry.logBatch({
      runId: run.info.runId,
      metrics: [0.5, 0.6, 0.7].map((value, step) => ({
        key: "auc",
        value,
        step,
      })),
    });
    expect(failedOnce).toBe(true);
    const history = await client({ trackingUri: server.url }).getMetricHistory(
      run.info.runId,
      "auc",
    );
    expect(history.map((m) => [m.step, m.value])).toEqual([
      [0, 0.5],
      [1, 0.6],
      [2, 0.7],
    ]);
  });

  it("resolves models:/<model_id> to a 3.x logged model, and explains on 2.x that there are none", async () => {
    const registry = client({ trackingUri: server.url });
    const experiment = await registry.getOrCreateExperiment(unique("logged"));
    const created = await fetch(`${server.url}/api/2.0/mlflow/logged-models`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        experiment_id: experiment.experimentId,
        name: "model",
      }),
    });
    if (line === "2") {
      expect(created.status).toBe(404);
      const error = await expectRegistryError(
        registry.resolveArtifactLocation("models:/m-0123abcd"),
        "REGISTRY_PROTOCOL",
      );
      expect(error.message).toContain("has no logged models");
      return;
    }
    const { model } = (await created.json()) as {
      model: { info: { model_id: string; artifact_uri: string } };
    };
    const path = model.info.artifact_uri.replace(/^mlflow-artifacts:\/*/, "");
    const put = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts/${path}/MLmodel`,
      { method: "PUT", body: "artifact_path: model\n" },
    );
    expect(put.status).toBe(200);
    const dest = await mkdtemp(join(tmpdir(), "sf-logged-model-"));
    try {
      const result = await registry.downloadModel(
        `models:/${model.info.model_id}`,
        dest,
      );
      expect(result.artifactUri).toBe(model.info.artifact_uri);
      expect(await readFile(join(dest, "MLmodel"), "utf8")).toBe(
        "artifact_path: model\n",
      );
    } finally {
      await rm(dest, { recursive: true, force: true });
    }
  });

  it("resolves an unknown model to REGISTRY_NOT_FOUND with the HTTP status and MLflow's code", async () => {
    const error = await expectRegistryError(
      client({ trackingUri: server.url }).getRegisteredModel(unique("unknown")),
      "REGISTRY_NOT_FOUND",
    );
    expect(error.httpStatus).toBe(404);
    expect(error.mlflowErrorCode).toBe("RESOURCE_DOES_NOT_EXIST");
  });
});
