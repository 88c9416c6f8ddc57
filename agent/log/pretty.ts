import type { DestinationStream } from "pino";

const LEVEL_TAG: Record<string, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};
const OMITTED = new Set(["level", "time", "pid", "hostname", "name", "msg"]);

/**
 * Human-readable log lines for a terminal: `12:00:01 INFO  message key=value`.
 * Written here rather than with pino-pretty so the agent stays one bundled
 * file without worker threads.
 */
export function formatLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof record.time === "string" ? record.time.slice(11, 19) : "";
  const level = LEVEL_TAG[String(record.level)] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return [time, level, String(record.msg ?? ""), ...fields].filter((part) => part !== "").join(" ");
}

export function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(chunk: string): void {
      for (const line of chunk.split("\n")) {
        if (line.trim() !== "") out.write(`${formatLine(line)}\n`);
      }
    },
  };
}
