/**
 * `pnpm bench [suite…]`: runs the benchmark suites (default: all). Each suite measures its
 * anchor in the same run and prints ratios, because this machine is shared and noisy.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SUITES = [
  "features",
  "forest",
  "serve",
  "score",
  "drift",
  "pipeline",
] as const;
const asked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const chosen = asked.length > 0 ? asked : [...SUITES];
for (const name of chosen) {
  if (!(SUITES as readonly string[]).includes(name)) {
    console.error(`unknown suite '${name}'; known: ${SUITES.join(", ")}`);
    process.exitCode = 2;
    continue;
  }
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  if (!existsSync(file)) {
    console.error(`suite '${name}' is not there yet (${file})`);
    process.exitCode = 1;
    continue;
  }
  console.log(`\n### ${name}\n`);
  const suite = (await import(file)) as { run(args: string[]): Promise<void> };
  await suite.run(process.argv.slice(2));
}
