import { CommanderError } from "commander";
import { isStreamflowError, type StreamflowError } from "@streamflow/core";
import { resolveConfig } from "./config.ts";
import { createContext, type CommandContext } from "./context.ts";
import { EXIT, exitCodeFor } from "./exit-codes.ts";
import { processIo, type CliIo } from "./io.ts";
import { buildProgram, type Handler } from "./program.ts";
import { VERSION } from "./version.ts";

function causeChain(error: unknown): string[] {
  const lines: string[] = [];
  let cause = (error as { cause?: unknown } | null)?.cause;
  while (cause !== undefined && cause !== null && lines.length < 8) {
    lines.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : JSON.stringify(cause));
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines;
}

function renderKnown(error: StreamflowError, where: { io: CliIo; ctx: CommandContext | undefined; verbose: boolean }): void {
  const { io, ctx, verbose } = where;
  ctx?.finishProgress();
  io.stderr.write(`error [${error.code}]: ${error.message}\n`);
  if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
  if (verbose) for (const line of causeChain(error)) io.stderr.write(`  caused by ${line}\n`);
  if (ctx?.config.json && !ctx.printed) {
    const body = { ok: false, error: { code: error.code, message: error.message, hint: error.hint ?? null, details: error.details ?? null } };
    io.stdout.write(JSON.stringify(body, null, 2) + "\n");
  }
}

/**
 * Runs the CLI and returns its exit code; never calls process.exit, so output flushes and pools
 * close. The one place errors become messages and exit codes.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let ctx: CommandContext | undefined;
  let verbose = argv.includes("--verbose");
  const dispatch = async (load: () => Promise<Handler>, flags: Record<string, unknown>) => {
    const config = await resolveConfig(flags, io);
    verbose = config.verbose;
    ctx = createContext(io, config);
    // Commander has parsed and typed the flags each handler declares; the cast is the seam.
    const handler = (await load()) as unknown as (c: CommandContext, f: Record<string, unknown>) => Promise<void>;
    await handler(ctx, flags);
    ctx.finishProgress();
  };
  const program = buildProgram(dispatch, VERSION);
  // Settings set after .command() do not reach subcommands: apply them to the whole tree.
  const configure = (cmd: typeof program): void => {
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version arrive here too, as "errors" with exit code 0.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isStreamflowError(error)) {
      renderKnown(error, { io, ctx, verbose });
      return exitCodeFor(error.code);
    }
    ctx?.finishProgress();
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`error: unexpected failure — this is a bug in streamflow.\n${stack}\n`);
    for (const line of causeChain(error)) io.stderr.write(`  caused by ${line}\n`);
    if (ctx?.config.json && !ctx.printed) {
      io.stdout.write(JSON.stringify({ ok: false, error: { code: "BUG", message: String((error as Error)?.message ?? error) } }, null, 2) + "\n");
    }
    return EXIT.BUG;
  }
}
