/**
 * Structured logging: one JSON object per line, filtered by level.
 *
 * Callers pass fields, never preformatted text with user data in it, and phone numbers only
 * through {@linkcode maskPhone}: codes, secrets and full numbers never reach a log.
 *
 * @module
 */
import { LOG_LEVELS, type LogLevel } from "./config.ts";

/** A value a log line may carry: JSON, so that attempt records fit as they are. */
export type LogValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly LogValue[]
  | { readonly [key: string]: LogValue };

/** Fields of a log line. */
export type LogFields = Readonly<Record<string, LogValue>>;

/** A leveled, structured logger. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. */
  level: LogLevel;
  /** Receives each finished line; defaults to the console (stderr for warn and error). */
  write?: (level: LogLevel, line: string) => void;
  /** Clock for the `time` field. */
  now?: () => number;
}

function writeToConsole(level: LogLevel, line: string): void {
  if (level === "warn" || level === "error") console.error(line);
  else console.log(line);
}

/**
 * Creates a logger that writes JSON lines.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "info" });
 * log.info("delivered", { to: maskPhone("+447912345123"), channel: "sms" });
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const min = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? writeToConsole;
  const now = options.now ?? Date.now;
  const at = (level: LogLevel) => {
    if (LOG_LEVELS.indexOf(level) < min) return () => {};
    return (event: string, fields?: LogFields) =>
      write(
        level,
        JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...fields }),
      );
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });

/**
 * Masks a phone number for logs: country code and the next digits up to four, the last three,
 * dots between (`+447912345123` → `+4479•••••123`). Short or odd input is masked harder.
 */
export function maskPhone(e164: string): string {
  const digits = e164.replace(/\D/g, "");
  if (digits.length < 8) return "+" + "•".repeat(digits.length);
  const head = digits.slice(0, 4);
  const tail = digits.slice(-3);
  return `+${head}${"•".repeat(digits.length - 7)}${tail}`;
}
