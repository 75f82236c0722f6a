// Loaded with --import into a measured process: writes its peak RSS (KiB) where the bench asks.
import { appendFileSync } from "node:fs";

const target = process.env.STREAMFLOW_BENCH_RSS_FILE;
if (target) {
  process.on("exit", () =>
    appendFileSync(target, `${process.resourceUsage().maxRSS}\n`),
  );
}
