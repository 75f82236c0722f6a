/**
 * The scikit-learn side of the suites that compare against it: a venv in bench/.venv pinned to
 * the lab's scikit-learn 1.7.2 (from 1.8 on, class_weight with bootstrap changes semantics), and
 * a child process whose last stdout line is its JSON result.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VENV = join(ROOT, "bench/.venv");
export const PYTHON = join(VENV, "bin/python");
export const SKLEARN_VERSION = "1.7.2";

export function ensureVenv(): void {
  const has = (): string | undefined => {
    if (!existsSync(PYTHON)) return undefined;
    try {
      return execFileSync(
        PYTHON,
        ["-c", "import sklearn, numpy; print(sklearn.__version__)"],
        { encoding: "utf8" },
      ).trim();
    } catch {
      return undefined;
    }
  };
  if (has() === SKLEARN_VERSION) return;
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error(
      "the forest benchmark needs python3 (3.9+) with venv and pip, e.g. `apt-get install python3-venv python3-pip`",
    );
  }
  console.log(
    `creating ${VENV} with scikit-learn ${SKLEARN_VERSION} from PyPI…`,
  );
  if (!existsSync(PYTHON))
    execFileSync("python3", ["-m", "venv", VENV], { stdio: "inherit" });
  execFileSync(
    PYTHON,
    [
      "-m",
      "pip",
      "install",
      "--quiet",
      `scikit-learn==${SKLEARN_VERSION}`,
      "numpy",
    ],
    { stdio: "inherit" },
  );
}

export async function runJson(
  cmd: string,
  args: string[],
): Promise<Record<string, unknown>> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) =>
    child.on("close", resolve),
  );
  if (code !== 0)
    throw new Error(`${cmd} ${args.join(" ")} exited with ${code}`);
  return JSON.parse(out.trim().split("\n").pop() as string) as Record<
    string,
    unknown
  >;
}
