export {
  CORE_ERROR_CODES,
  CoreError,
  StreamflowError,
  isStreamflowError,
} from "./errors.ts";
export type { CoreErrorCode, StreamflowErrorOptions } from "./errors.ts";
export { SILENT_LOGGER } from "./logger.ts";
export type { Logger, ProgressEvent, ProgressListener } from "./logger.ts";
