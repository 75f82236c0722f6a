import { describe, expect, it } from "vitest";
import { proxyFileUrl, resolveProxyLocation } from "./artifact-uri.ts";

describe("resolveProxyLocation (MLflow's own test vectors)", () => {
  it.each([
    [
      "mlflow-artifacts://myhostname:4242/my/artifact/path/hostport",
      "http://myhostname:4242/api/2.0/mlflow-artifacts/artifacts/my/artifact/path/hostport",
    ],
    [
      "mlflow-artifacts://myhostname/my/artifact/path/host",
      "http://myhostname/api/2.0/mlflow-artifacts/artifacts/my/artifact/path/host",
    ],
    [
      "mlflow-artifacts:/my/artifact/path/nohost",
      "http://localhost:5000/api/2.0/mlflow-artifacts/artifacts/my/artifact/path/nohost",
    ],
    [
      "mlflow-artifacts:///my/artifact/path/redundant",
      "http://localhost:5000/api/2.0/mlflow-artifacts/artifacts/my/artifact/path/redundant",
    ],
  ])("%s", (uri, url) => {
    expect(
      proxyFileUrl(resolveProxyLocation("http://localhost:5000", uri), ""),
    ).toBe(url);
  });

  it("maps the bare root to the proxy endpoint", () => {
    expect(
      resolveProxyLocation("http://localhost:5000", "mlflow-artifacts:/"),
    ).toEqual({
      endpoint: "http://localhost:5000/api/2.0/mlflow-artifacts/artifacts",
      path: "",
    });
  });

  it("keeps the tracking URI's path prefix and encodes each segment", () => {
    const location = resolveProxyLocation(
      "https://ml.example/mlflow/",
      "mlflow-artifacts:/1/abc/artifacts",
    );
    expect(proxyFileUrl(location, "model/my file#1.json")).toBe(
      "https://ml.example/mlflow/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/my%20file%231.json",
    );
  });

  it("refuses stores it cannot reach through the proxy", () => {
    expect(() =>
      resolveProxyLocation(
        "http://localhost:5000",
        "s3://bucket/1/abc/artifacts",
      ),
    ).toThrow(/not served by the MLflow artifact proxy/);
  });
});
