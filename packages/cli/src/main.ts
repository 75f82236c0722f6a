import { CommanderError } from "commander";
import { isStreamflowError, type StreamflowError } from "@streamflow/core";
import { resolveConfig } from "./config.ts";
import { createContext, type CommandContext } from "./context.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";
import { processIo, type CliIo } from "./io.ts";
import { CliError } from "./errors.ts";
import { buildProgram, type DispatchOptions, type Handler } from "./program.ts";
import { VERSION } from "./version.ts";

function causeChain(error: unknown): string[] {
  const lines: string[] = [];
  let cause = (error as { cause?: unknown } | null)?.cause;
  while (cause !== undefined && cause !== null && lines.length < 8) {
    lines.push(
      cause instanceof Error
        ? `${cause.name}: ${cause.message}`
        : JSON.stringify(cause),
    );
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines;
}

interface FailureBody {
  code: string;
  message: string;
  hint: string | null;
  details: unknown;
}

/** Where a failure goes: stderr always, and with --json one `{ok: false, error}` object on stdout. */
interface FailureOutput {
  io: CliIo;
  ctx: CommandContext | undefined;
  /** --json as far as it is known: from the resolved config, else from argv (usage errors and bad config come first). */
  json: boolean;
  verbose: boolean;
}

function printFailureJson(out: FailureOutput, error: FailureBody): void {
  // A command that already printed its result (check-online before exiting 5) keeps stdout to that one object.
  if (out.json && !(out.ctx?.printed ?? false))
    out.io.stdout.write(JSON.stringify({ ok: false, error }, null, 2) + "\n");
}

function renderKnown(error: StreamflowError, out: FailureOutput): void {
  const { io, ctx, verbose } = out;
  ctx?.finishProgress();
  io.stderr.write(`error [${error.code}]: ${error.message}\n`);
  if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
  if (verbose)
    for (const line of causeChain(error))
      io.stderr.write(`  caused by ${line}\n`);
  printFailureJson(out, {
    code: error.code,
    message: error.message,
    hint: error.hint ?? null,
    details: error.details ?? null,
  });
}

/** Commander has already written its message (and the help pointer) to stderr; --json also gets it as an object. */
function renderUsage(error: CommanderError, out: FailureOutput): void {
  printFailureJson(out, {
    code: "USAGE",
    message: error.message.replace(/^error: /, ""),
    hint: "Run with --help for usage.",
    details: { reason: error.code },
  });
}

/** The --json flag before commander has parsed anything: a usage error can stop it before flags are read. */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * Runs the CLI and returns its exit code; never calls process.exit, so output flushes and pools
 * close. The one place errors become messages and exit codes.
 */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  let ctx: CommandContext | undefined;
  let verbose = argv.includes("--verbose");
  const dispatch = async (
    load: () => Promise<Handler>,
    flags: Record<string, unknown>,
    options: DispatchOptions = {},
  ) => {
    const repository = options.repository ?? "any";
    const config = await resolveConfig(flags, io, {
      readFeatures: repository !== "none",
    });
    verbose = config.verbose;
    ctx = createContext(io, config);
    if (!config.features.isLab && repository === "lab")
      throw new CliError(
        "USAGE",
        `${config.features.file} declares a feature repository other than the lab's, and this command runs the lab's demo only`,
        {
          hint: "Run it without the file (rename it or unset STREAMFLOW_FEATURES); for your own repository, run the steps: generate-data (or your months), ingest, build-dataset, materialize, train, promote, serve.",
          details: { file: config.features.file, hash: config.features.hash },
        },
      );
    // Commander has parsed and typed the flags each handler declares; the cast is the seam.
    const handler = (await load()) as unknown as (
      c: CommandContext,
      f: Record<string, unknown>,
    ) => Promise<void>;
    await handler(ctx, flags);
    ctx.finishProgress();
  };
  const program = buildProgram(dispatch, VERSION);
  // Settings set after .command() do not reach subcommands: apply them to the whole tree.
  const configure = (cmd: typeof program): void => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
    cmd.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.OK;
  } catch (error) {
    const out: FailureOutput = {
      io,
      ctx,
      json: ctx?.config.json ?? jsonRequested(argv),
      verbose,
    };
    if (error instanceof CommanderError) {
      // Help and --version arrive here too, as "errors" with exit code 0.
      if (error.exitCode === 0) return EXIT.OK;
      renderUsage(error, out);
      return EXIT.USAGE;
    }
    if (isStreamflowError(error)) {
      renderKnown(error, out);
      return exitCodeFor(error.code);
    }
    ctx?.finishProgress();
    const stack =
      error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(
      `error: unexpected failure — this is a bug in streamflow.\n${stack}\n`,
    );
    for (const line of causeChain(error))
      io.stderr.write(`  caused by ${line}\n`);
    printFailureJson(out, {
      code: "BUG",
      message: error instanceof Error ? error.message : String(error),
      hint: "This is a bug in streamflow: please report it with the --verbose output.",
      details: null,
    });
    return EXIT.BUG;
  }
}
