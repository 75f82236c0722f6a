import type { UserConfig } from "tsdown";

/** Shared bundler settings; each package spreads these and adds its entries. */
export const baseConfig = {
  format: "esm",
  platform: "node",
  target: "node20",
  dts: true,
  clean: true,
  sourcemap: true,
} satisfies UserConfig;
