/**
 * Where libraries send what a person may want to read while work runs. Libraries never print:
 * the CLI hands them a logger that writes to stderr, tests hand them a silent or recording one.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

/** Progress of one long phase (rows parsed, trees grown…). `total` is undefined when unknown. */
export interface ProgressEvent {
  phase: string;
  done: number;
  total: number | undefined;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** A logger that drops everything; the default for library calls. */
export const SILENT_LOGGER: Logger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
});
