import { defineConfig } from "tsdown";
import { baseConfig } from "../../tsdown.config.ts";

// Commands are separate entries so `--help` loads commander only, never pg or the forest.
export default defineConfig({
  ...baseConfig,
  dts: false,
  entry: ["src/bin.ts", "src/commands/*.ts"],
});
