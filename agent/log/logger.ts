import { pino, type Logger, type DestinationStream, type LevelWithSilent } from "pino";
import { prettyStream } from "./pretty.js";

export type { Logger };

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number] & LevelWithSilent;

/**
 * Paths that must never reach the journal: userdata and configuration bodies,
 * AWS credentials, IMDS tokens. Modules log sizes and hashes instead; this is
 * the safety net for a mistake.
 */
export const REDACTED_PATHS = [
  "body",
  "userdata",
  "content",
  "token",
  "*.body",
  "*.userdata",
  "*.content",
  "*.token",
  "headers.authorization",
  "headers[\"x-aws-ec2-metadata-token\"]",
  "credentials",
  "*.credentials",
  "secretAccessKey",
  "sessionToken",
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stdout (journald captures it). */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON; defaults to "stdout is a TTY". */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const destination = options.destination ?? (pretty ? prettyStream(process.stdout) : pino.destination({ fd: 1, sync: true }));
  return pino(
    {
      name: "nixboot",
      level: options.level ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A logger that drops everything, for library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
