import { SettingsError } from "../errors.js";
import type { ImdsClientOptions } from "./imds-client.js";

export interface ValidImdsOptions {
  /** `protocol//host[:port]`, no trailing slash; IPv6 hosts keep their brackets. */
  endpoint: string;
  requestTimeoutMs: number;
  budgetMs: number;
  tokenTtlSeconds: number;
  backoffBaseMs: number;
  backoffCapMs: number;
}

export const DEFAULT_TOKEN_TTL_SECONDS = 21_600;
/** Backoff ceilings: the first retry comes within 100 ms (the network is often up a moment later); the wait never grows past 2 s, so a late network is noticed quickly. */
const DEFAULT_BACKOFF_BASE_MS = 100;
const DEFAULT_BACKOFF_CAP_MS = 2_000;
const MAX_TOKEN_TTL_SECONDS = 21_600;

const KNOWN_KEYS = new Set([
  "endpoint",
  "requestTimeoutMs",
  "budgetMs",
  "tokenTtlSeconds",
  "clock",
  "logger",
  "random",
  "backoffBaseMs",
  "backoffCapMs",
]);

const ENDPOINT_HINT = "set --imds-endpoint (NIXBOOT_IMDS_ENDPOINT) to a base URL such as http://169.254.169.254 or http://[fd00:ec2::254]";

function positive(name: string, value: unknown, { integer = false, max = Number.POSITIVE_INFINITY } = {}): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    const range = max === Number.POSITIVE_INFINITY ? "a positive number" : `from 1 to ${max}`;
    throw new SettingsError(`IMDS client option ${name} must be ${integer ? "an integer " : ""}${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parses an endpoint: an http(s) URL with a host and nothing after it. */
export function parseImdsEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new SettingsError(`imdsEndpoint is not a URL: ${JSON.stringify(endpoint)}`, { cause: error, hint: ENDPOINT_HINT });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SettingsError(`imdsEndpoint must be an http:// or https:// URL, got ${JSON.stringify(endpoint)}`, { hint: ENDPOINT_HINT });
  }
  if (url.hostname === "" || url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    throw new SettingsError(`imdsEndpoint must be a base URL (scheme, host, optional port; no path, query or credentials), got ${JSON.stringify(endpoint)}`, {
      hint: ENDPOINT_HINT,
    });
  }
  return `${url.protocol}//${url.host}`;
}

/** Validates the client's options once, naming the field at fault; unknown keys are refused. */
export function validateImdsOptions(options: ImdsClientOptions): ValidImdsOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) throw new SettingsError(`unknown IMDS client option ${JSON.stringify(key)}`);
  }
  if (typeof options.endpoint !== "string") throw new SettingsError("IMDS client option endpoint must be a string", { hint: ENDPOINT_HINT });
  return {
    endpoint: parseImdsEndpoint(options.endpoint),
    requestTimeoutMs: positive("requestTimeoutMs", options.requestTimeoutMs),
    budgetMs: positive("budgetMs", options.budgetMs),
    tokenTtlSeconds: positive("tokenTtlSeconds", options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS, { integer: true, max: MAX_TOKEN_TTL_SECONDS }),
    backoffBaseMs: positive("backoffBaseMs", options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS),
    backoffCapMs: positive("backoffCapMs", options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS),
  };
}
