import { readFileSync } from "node:fs";

function readVersion(): string {
  // The package.json sits one level above both src/ and dist/.
  try {
    const pkg = JSON.parse(
      readFileSync(new URL("../package.json", import.meta.url), "utf8"),
    ) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** The toolkit's version, recorded in models and tags. */
export const VERSION = readVersion();
