import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorPage, resolveMetadata } from "./metadata.js";
import { defaultImdsState, type ImdsEmulatorState, type ImdsFaultBurst, type ImdsRequestRecord } from "./state.js";

export interface ImdsEmulatorOptions {
  /** Address to listen on; `::1` for IPv6. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; default 0 (an ephemeral port). */
  port?: number;
  /** The emulator's clock, for token expiry (ms since the epoch); default `Date.now`. */
  now?: () => number;
  /** Really refuse TCP connections (listener closed) for this long after start. */
  refuseConnectionsForMs?: number;
  /** Initial values over the defaults of `defaultImdsState()`. */
  state?: Partial<ImdsEmulatorState>;
}

export interface ImdsRequestFilter {
  method?: string;
  path?: string;
  status?: number | null;
}

export interface ImdsEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` or `http://[::1]:41234` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Mutable: the next request sees changes. */
  readonly state: ImdsEmulatorState;
  /** Number of requests received that match every given field. */
  count(filter?: ImdsRequestFilter): number;
  /** Invalidates every token issued so far (the next GET with one gets 401). */
  revokeTokens(): void;
  /** Closes the listener and open sockets now (connections are refused), and listens again after `ms`. */
  refuseConnectionsFor(ms: number): Promise<void>;
  close(): Promise<void>;
}

const TOKEN_PATH = "/latest/api/token";
const TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const MAX_TTL_SECONDS = 21_600;

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

interface Answer {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
}

function errorAnswer(status: number, extra: Record<string, string> = {}): Answer {
  return { status, body: errorPage(status, REASONS[status] ?? "Error"), headers: { "Content-Type": "text/html", ...extra } };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * Starts a local IMDS speaking the IMDSv2 wire format (`HttpTokens=required`):
 * token PUT, token-authenticated GETs, XHTML error pages, and scripted faults
 * (`state.faults`, `refuseConnectionsFor`) that happen for real at the HTTP
 * and TCP level.
 */
export async function startImdsEmulator(options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const host = options.host ?? "127.0.0.1";
  const now = options.now ?? Date.now;
  const state: ImdsEmulatorState = { ...defaultImdsState(), ...options.state };
  const tokens = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const record = (entry: ImdsRequestRecord): void => {
    state.requests.push(entry);
  };

  const takeBurst = (method: string, path: string): ImdsFaultBurst | undefined => {
    const burst = state.faults.bursts.find(
      (b) => b.count > 0 && (b.path === undefined || b.path === path) && (b.method === undefined || b.method === method),
    );
    if (burst) burst.count -= 1;
    return burst;
  };

  const issueToken = (req: IncomingMessage): Answer => {
    // IMDS refuses token requests that went through a proxy (hop limit aside).
    if (req.headers["x-forwarded-for"] !== undefined) return errorAnswer(403);
    const ttlText = single(req.headers[TTL_HEADER]);
    if (ttlText === undefined || !/^\d+$/.test(ttlText.trim())) return errorAnswer(400);
    const ttl = Number(ttlText.trim());
    if (ttl < 1 || ttl > MAX_TTL_SECONDS) return errorAnswer(400);
    const token = `AQAEA${randomBytes(39).toString("base64")}`;
    tokens.set(token, now() + ttl * 1000);
    return { status: 200, body: Buffer.from(token, "utf8"), headers: { "Content-Type": "text/plain", [TTL_HEADER]: String(ttl) } };
  };

  const answer = (req: IncomingMessage, method: string, path: string): Answer => {
    if (state.disabled) return errorAnswer(403);
    if (path === TOKEN_PATH) return method === "PUT" ? issueToken(req) : errorAnswer(405, { Allow: "PUT" });
    if (method !== "GET" && method !== "HEAD") return errorAnswer(405, { Allow: "GET, HEAD" });
    // HttpTokens=required: no token (IMDSv1), an unknown token or an expired one are all 401.
    const token = single(req.headers[TOKEN_HEADER]);
    const expiresAt = token === undefined ? undefined : tokens.get(token);
    if (expiresAt === undefined || expiresAt <= now()) return errorAnswer(401);
    const found = resolveMetadata(state, path, now());
    if (found === null) return errorAnswer(404);
    return { status: 200, body: found.body, headers: { "Content-Type": found.contentType } };
  };

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? "GET";
    const path = new URL(req.url ?? "/", "http://imds.invalid").pathname;
    const at = now();
    const burst = takeBurst(method, path);
    if (burst?.response === "reset" || burst?.response === "hang") {
      record({ method, path, status: null, fault: burst.response, at });
      if (burst.response === "reset") req.socket.destroy();
      return;
    }
    const reply = typeof burst?.response === "number" ? errorAnswer(burst.response) : answer(req, method, path);
    const headers = { Server: "EC2ws", ...reply.headers };
    if (burst?.response === "truncate") {
      record({ method, path, status: reply.status, fault: "truncate", at });
      // Promise more bytes than are sent, then drop the connection.
      const declared = Math.max(reply.body.length, 1);
      res.writeHead(reply.status, { ...headers, "Content-Length": String(declared) });
      res.write(reply.body.subarray(0, Math.floor(reply.body.length / 2)), () => res.socket?.destroy());
      return;
    }
    record({ method, path, status: reply.status, ...(burst ? { fault: "burst" as const } : {}), at });
    res.writeHead(reply.status, { ...headers, "Content-Length": String(reply.body.length) });
    res.end(reply.body);
  };

  const server = createServer((req, res) => {
    req.resume();
    const delay = state.faults.delayMs;
    if (delay <= 0) {
      respond(req, res);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!req.socket.destroyed) respond(req, res);
    }, delay);
    timers.add(timer);
  });
  server.on("clientError", (_error, socket) => socket.destroy());

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  const closeListener = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let reopen: NodeJS.Timeout | undefined;

  const refuseConnectionsFor = async (ms: number): Promise<void> => {
    clearTimeout(reopen);
    await closeListener();
    reopen = setTimeout(() => {
      if (stopped) return;
      // Same port; an error here (port taken meanwhile) shows up as refused connections in the test.
      listen(port).catch((error: unknown) => process.emitWarning(`IMDS emulator could not listen again: ${String(error)}`));
    }, ms);
  };

  if ((options.refuseConnectionsForMs ?? 0) > 0) await refuseConnectionsFor(options.refuseConnectionsForMs ?? 0);

  return {
    url,
    port,
    state,
    count: (filter = {}) =>
      state.requests.filter(
        (r) =>
          (filter.method === undefined || r.method === filter.method) &&
          (filter.path === undefined || r.path === filter.path) &&
          (filter.status === undefined || r.status === filter.status),
      ).length,
    revokeTokens: () => tokens.clear(),
    refuseConnectionsFor,
    close: async () => {
      stopped = true;
      clearTimeout(reopen);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeListener();
    },
  };
}
