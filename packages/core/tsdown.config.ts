import { defineConfig } from "tsdown";
import { baseConfig } from "../../tsdown.config.ts";

// The forest's worker thread is its own entry: pool.ts starts `dist/forest-worker.mjs` by URL.
export default defineConfig({
  ...baseConfig,
  entry: {
    index: "src/index.ts",
    "forest-worker": "src/forest/tree-worker.ts",
  },
});
