import got, { type Got } from "got";
import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import { validateImdsOptions } from "./imds-options.js";
import { ImdsDisabledError, ImdsProtocolError } from "./imds-errors.js";
import { RetryableStatusError, isRetryableStatus, retrying, type Deadline, type RetryPolicy } from "./imds-retry.js";

export interface ImdsClientOptions {
  /** Base URL: `http://169.254.169.254`, or `http://[fd00:ec2::254]` on IPv6-only subnets. */
  endpoint: string;
  /** Timeout of one HTTP request. */
  requestTimeoutMs: number;
  /** Total time one public call keeps retrying (the network may still be coming up). */
  budgetMs: number;
  /** TTL asked for the session token, 1–21600; default 21600. */
  tokenTtlSeconds?: number;
  clock: Clock;
  logger: Logger;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
  /** First backoff ceiling; default 100 ms. */
  backoffBaseMs?: number;
  /** Largest backoff ceiling; default 2000 ms. */
  backoffCapMs?: number;
}

export interface ImdsIdentity {
  instanceId: string;
  region: string;
  /** The `aws:autoscaling:groupName` tag; null when tags in metadata are off or the instance is not in a group. */
  groupName: string | null;
  /** E.g. `InService`, `Warmed:Stopped`; null when IMDS has none. */
  targetLifecycleState: string | null;
}

export interface ImdsClientStats {
  /** HTTP requests sent, token PUTs and retries included. */
  requests: number;
  tokenRequests: number;
}

export { DEFAULT_TOKEN_TTL_SECONDS } from "./imds-options.js";
/** Refresh the token this long before it expires, so a request never races its expiry. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const TOKEN_PATH = "/latest/api/token";
const TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER = "x-aws-ec2-metadata-token";

interface Answer {
  status: number;
  body: Buffer;
}

/**
 * IMDSv2 client: one session token, reused until shortly before it expires;
 * GETs carry it, a 401 gets a fresh token and one more try. Retries (one
 * layer: `imds-retry.ts`) cover the network coming up and IMDS throttling.
 * Never logs bodies or tokens.
 */
const IDENTITY_DOCUMENT = "/latest/dynamic/instance-identity/document";

/** The two facts the agent needs from the instance identity document, or ImdsProtocolError. */
function parseIdentityDocument(text: string): { instanceId: string; region: string } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new ImdsProtocolError(`IMDS ${IDENTITY_DOCUMENT} is not JSON`);
  }
  const { instanceId, region } = (document ?? {}) as Record<string, unknown>;
  if (typeof instanceId !== "string" || instanceId === "" || typeof region !== "string" || region === "") {
    throw new ImdsProtocolError(`IMDS ${IDENTITY_DOCUMENT} lacks instanceId or region`);
  }
  return { instanceId, region };
}

export class ImdsClient {
  readonly endpoint: string;
  readonly #http: Got;
  readonly #policy: RetryPolicy;
  readonly #budgetMs: number;
  readonly #tokenTtlSeconds: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #token: { value: string; refreshAt: number } | null = null;
  #tokenInFlight: Promise<string> | null = null;
  readonly #stats: ImdsClientStats = { requests: 0, tokenRequests: 0 };

  constructor(options: ImdsClientOptions) {
    const valid = validateImdsOptions(options);
    this.endpoint = valid.endpoint;
    this.#budgetMs = valid.budgetMs;
    this.#tokenTtlSeconds = valid.tokenTtlSeconds;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#policy = {
      endpoint: valid.endpoint,
      clock: options.clock,
      logger: options.logger,
      random: options.random ?? Math.random,
      requestTimeoutMs: valid.requestTimeoutMs,
      backoffBaseMs: valid.backoffBaseMs,
      backoffCapMs: valid.backoffCapMs,
    };
    // got retries by itself (limit 2, PUT included): off, the retry layer is ours.
    this.#http = got.extend({ retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false, decompress: false });
  }

  stats(): ImdsClientStats {
    return { ...this.#stats };
  }

  /** Raw userdata bytes, or null when the instance has none. */
  getUserdata(): Promise<Buffer | null> {
    return this.get("/latest/user-data");
  }

  async getInstanceId(): Promise<string> {
    return this.#required("/latest/meta-data/instance-id", this.#deadline());
  }

  async getRegion(): Promise<string> {
    return this.#required("/latest/meta-data/placement/region", this.#deadline());
  }

  async getAutoScalingGroupTag(): Promise<string | null> {
    return this.#optional("/latest/meta-data/tags/instance/aws:autoscaling:groupName", this.#deadline());
  }

  async getTargetLifecycleState(): Promise<string | null> {
    return this.#optional("/latest/meta-data/autoscaling/target-lifecycle-state", this.#deadline());
  }

  /** Instance id, region, group tag and lifecycle state: one token, then the four GETs at once. */
  async getIdentity(): Promise<ImdsIdentity> {
    const deadline = this.#deadline();
    await this.#currentToken(deadline);
    // The identity document carries both the instance id and the region: one request, not two.
    const [document, groupName, targetLifecycleState] = await Promise.all([
      this.#required(IDENTITY_DOCUMENT, deadline),
      this.#optional("/latest/meta-data/tags/instance/aws:autoscaling:groupName", deadline),
      this.#optional("/latest/meta-data/autoscaling/target-lifecycle-state", deadline),
    ]);
    const { instanceId, region } = parseIdentityDocument(document);
    return { instanceId, region, groupName, targetLifecycleState };
  }

  /** Any IMDS path (`/latest/...`): the body, or null on 404. */
  async get(path: string): Promise<Buffer | null> {
    if (!path.startsWith("/")) throw new ImdsProtocolError(`IMDS path must start with "/": ${JSON.stringify(path)}`);
    const answer = await this.#fetch(path, this.#deadline());
    return answer.status === 404 ? null : answer.body;
  }

  #deadline(): Deadline {
    const start = this.#clock.now();
    return { start, end: start + this.#budgetMs };
  }

  async #optional(path: string, deadline: Deadline): Promise<string | null> {
    const answer = await this.#fetch(path, deadline);
    return answer.status === 404 ? null : answer.body.toString("utf8");
  }

  async #required(path: string, deadline: Deadline): Promise<string> {
    const value = await this.#optional(path, deadline);
    if (value === null || value === "") {
      throw new ImdsProtocolError(`IMDS has no ${path} (404 or empty), which every instance has`, {
        hint: "check that --imds-endpoint points at the instance metadata service",
        details: { path },
      });
    }
    return value;
  }

  async #send(method: "GET" | "PUT", path: string, headers: Record<string, string>, timeoutMs: number): Promise<Answer> {
    this.#stats.requests += 1;
    const response = await this.#http(`${this.endpoint}${path}`, { method, headers, responseType: "buffer", timeout: { request: timeoutMs } });
    return { status: response.statusCode, body: response.body };
  }

  /** A GET with the session token; a 401 drops the token and tries once more with a fresh one. */
  async #fetch(path: string, deadline: Deadline): Promise<Answer> {
    for (let renewed = false; ; renewed = true) {
      const token = await this.#currentToken(deadline);
      const answer = await retrying(`GET ${path}`, deadline, this.#policy, async (timeoutMs, attempt) => {
        const result = await this.#send("GET", path, { [TOKEN_HEADER]: token }, timeoutMs);
        this.#logger.debug({ method: "GET", path, status: result.status, bytes: result.body.length, attempt }, "IMDS answered");
        if (result.status === 200 || result.status === 404 || result.status === 401) return result;
        if (isRetryableStatus(result.status)) throw new RetryableStatusError(result.status, `GET ${path}`);
        if (result.status === 403) throw disabled(`GET ${path}`);
        throw new ImdsProtocolError(`IMDS answered GET ${path} with unexpected HTTP ${result.status}`, { details: { path, status: result.status } });
      });
      if (answer.status !== 401) return answer;
      if (this.#token?.value === token) this.#token = null;
      if (renewed) {
        throw new ImdsProtocolError(`IMDS rejected a freshly issued session token for GET ${path} (401 twice)`, {
          hint: "the metadata service is misbehaving or something rewrites requests to it; retry the launch",
          details: { path },
        });
      }
      this.#logger.info({ path }, "IMDS rejected the session token (401); fetching a new one");
    }
  }

  /** The cached token, or one fetch shared by every caller waiting for it. */
  #currentToken(deadline: Deadline): Promise<string> {
    if (this.#token !== null && this.#clock.now() < this.#token.refreshAt) return Promise.resolve(this.#token.value);
    this.#tokenInFlight ??= this.#fetchToken(deadline).finally(() => {
      this.#tokenInFlight = null;
    });
    return this.#tokenInFlight;
  }

  async #fetchToken(deadline: Deadline): Promise<string> {
    const requestedAt = this.#clock.now();
    const answer = await retrying(`PUT ${TOKEN_PATH}`, deadline, this.#policy, async (timeoutMs, attempt) => {
      this.#stats.tokenRequests += 1;
      const result = await this.#send("PUT", TOKEN_PATH, { [TTL_HEADER]: String(this.#tokenTtlSeconds) }, timeoutMs);
      this.#logger.debug({ method: "PUT", path: TOKEN_PATH, status: result.status, attempt }, "IMDS answered");
      if (result.status === 200) return result;
      if (result.status === 403) throw disabled(`PUT ${TOKEN_PATH}`);
      if (isRetryableStatus(result.status)) throw new RetryableStatusError(result.status, `PUT ${TOKEN_PATH}`);
      throw new ImdsProtocolError(`IMDS answered the token request with unexpected HTTP ${result.status}`, {
        hint: result.status === 400 ? "the token TTL must be an integer from 1 to 21600 seconds" : undefined,
        details: { path: TOKEN_PATH, status: result.status, ttlSeconds: this.#tokenTtlSeconds },
      });
    });
    const value = answer.body.toString("utf8").trim();
    if (value === "") throw new ImdsProtocolError("IMDS answered the token request with an empty token");
    const ttlMs = this.#tokenTtlSeconds * 1000;
    // Counted from the request, not the answer: errs on the early side.
    this.#token = { value, refreshAt: requestedAt + ttlMs - Math.min(TOKEN_REFRESH_MARGIN_MS, ttlMs / 4) };
    return value;
  }
}

function disabled(operation: string): ImdsDisabledError {
  return new ImdsDisabledError(
    `IMDS refused ${operation} with 403: the instance metadata service is turned off for this instance (HttpEndpoint=disabled), or the request was refused (e.g. it went through a proxy)`,
    {
      hint:
        "enable it: aws ec2 modify-instance-metadata-options --instance-id <id> --http-endpoint enabled --http-tokens required " +
        "(and set MetadataOptions in the launch template); make sure no HTTP proxy sits between the agent and IMDS",
      details: { operation, status: 403 },
    },
  );
}

export function createImdsClient(options: ImdsClientOptions): ImdsClient {
  return new ImdsClient(options);
}
