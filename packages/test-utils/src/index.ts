export {
  createTestDatabase,
  TEST_ENGINES,
  testServerUrl,
} from "./databases.ts";
export type { TestDatabase, TestEngine } from "./databases.ts";
export { SHOP_REPOSITORY_FILE } from "./shop-repository.ts";
export { labDataDir, labDataMissingReason, REPO_ROOT } from "./lab-data.ts";
export { LAB_HEADERS, monthFixture, writeMonth } from "./month-fixture.ts";
export type { FixtureUser, MonthFixture } from "./month-fixture.ts";
export { MLFLOW_LINES, startMlflowServer } from "./mlflow-server.ts";
export type {
  MlflowLine,
  MlflowServer,
  StartMlflowServerOptions,
} from "./mlflow-server.ts";
export { startPrivatePostgres } from "./private-postgres.ts";
export type { PrivatePostgres } from "./private-postgres.ts";
export { startFaultProxy } from "./fault-proxy.ts";
export type { FaultMode, FaultProxy } from "./fault-proxy.ts";
export { freePort } from "./ports.ts";
export { prometheusBinary, startPrometheus } from "./prometheus.ts";
export type { PrometheusServer, PromSample } from "./prometheus.ts";
