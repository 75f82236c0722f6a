import { RegistryError } from "../errors.ts";
import { joinArtifactPath } from "./validation.ts";

const PROXY_PREFIX = "/api/2.0/mlflow-artifacts/artifacts";

export interface ProxyLocation {
  /** Origin plus tracking path plus the proxy prefix, e.g. `http://h:5000/api/2.0/mlflow-artifacts/artifacts`. */
  endpoint: string;
  /** Path inside the artifact store, no leading or trailing '/', e.g. `1/<run>/artifacts`. */
  path: string;
}

/**
 * Where the artifact proxy serves an `mlflow-artifacts:` URI (MlflowArtifactsRepository.resolve_uri):
 * scheme from the tracking URI, host from the artifact URI when it names one, path under the proxy.
 */
export function resolveProxyLocation(
  trackingUri: string,
  artifactUri: string,
): ProxyLocation {
  const match = /^mlflow-artifacts:(?:\/\/([^/]*))?(\/.*)?$/.exec(artifactUri);
  if (match === null) {
    throw new RegistryError(
      "REGISTRY_ARTIFACTS_UNSUPPORTED",
      `Artifacts at '${artifactUri}' are not served by the MLflow artifact proxy, and this client reads and writes only through it.`,
      {
        hint: "Start the server with --serve-artifacts (the default since 2.0) and --artifacts-destination, and use an experiment created after that.",
        details: { artifactUri },
      },
    );
  }
  const tracking = new URL(trackingUri);
  const authority = match[1];
  const host =
    authority !== undefined && authority !== "" ? authority : tracking.host;
  const trackingPath = tracking.pathname.replace(/\/+$/, "");
  return {
    endpoint: `${tracking.protocol}//${host}${trackingPath}${PROXY_PREFIX}`,
    path: joinArtifactPath(match[2]),
  };
}

/** URL of one file behind the proxy; each segment is percent-encoded, '/' kept. */
export function proxyFileUrl(location: ProxyLocation, relPath: string): string {
  const full = joinArtifactPath(location.path, relPath);
  return `${location.endpoint}/${full.split("/").map(encodeURIComponent).join("/")}`;
}
