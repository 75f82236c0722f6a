import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { SummaryReporter } from "./scripts/summary-reporter.ts";

const src = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests read each package's source, never its build, so `pnpm test:unit` needs no build step.
const alias = {
  "@streamflow/core": src("core"),
  "@streamflow/features": src("features"),
  "@streamflow/lifecycle": src("lifecycle"),
  "@streamflow/registry-client": src("registry-client"),
  "@streamflow/serving": src("serving"),
  "@streamflow/test-utils": src("test-utils"),
};

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ["default", new SummaryReporter()],
    clearMocks: true,
    restoreMocks: true,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["packages/*/src/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["packages/*/test/**/*.int.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["packages/cli/test/e2e/**/*.e2e.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
