import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * One HTTP(S) POST with a connect timeout, a timeout on the whole exchange
 * and an AbortSignal, for the EC2 Query client (`ec2-query.ts`).
 *
 * Failures have the shapes the AWS SDK's @smithy/node-http-handler gives
 * them, so `classifyFailure` (api.ts) sorts them the same way:
 *   - the signal aborted: `name: "AbortError"` ("Request aborted", the reason as `cause`);
 *   - no connection within `connectTimeoutMs`: `name: "TimeoutError"`;
 *   - no complete answer within `requestTimeoutMs`: `name: "TimeoutError"`, `code: "ETIMEDOUT"`
 *     (the SDK's `throwOnRequestTimeout`; here the body's arrival counts too);
 *   - socket errors as Node raises them (`code: "ECONNREFUSED"`, …).
 * An answer larger than `maxBodyBytes` fails with its HTTP status in
 * `$metadata`, like a response the SDK cannot read.
 */

export interface PostRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  signal?: AbortSignal | undefined;
}

export interface PostResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The error of an aborted call, as @smithy/node-http-handler builds it. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const error = new Error(reason !== undefined && !(reason instanceof Error) ? String(reason) : "Request aborted", reason instanceof Error ? { cause: reason } : undefined);
  error.name = "AbortError";
  return error;
}

export function httpPost(req: PostRequest): Promise<PostResponse> {
  const { url, signal } = req;
  return new Promise<PostResponse>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const send = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : undefined;
    if (!send) {
      reject(new TypeError(`unsupported endpoint protocol '${url.protocol}' in ${url.origin}: use http: or https:`));
      return;
    }
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (error: Error | undefined, response?: PostResponse): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        outgoing.destroy();
        reject(error);
      } else {
        resolve(response!);
      }
    };
    const onAbort = (): void => finish(abortError(signal!));

    const outgoing = send({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port || undefined,
      path: url.pathname || "/",
      method: "POST",
      headers: { ...req.headers, "content-length": String(Buffer.byteLength(req.body)) },
    });

    timers.push(
      setTimeout(() => {
        const error = Object.assign(new Error(`the request to ${url.host} got no complete answer within ${req.requestTimeoutMs} ms`), { name: "TimeoutError", code: "ETIMEDOUT" });
        finish(error);
      }, req.requestTimeoutMs),
    );
    const connectTimer = setTimeout(() => {
      finish(Object.assign(new Error(`no connection to ${url.host} within ${req.connectTimeoutMs} ms`), { name: "TimeoutError" }));
    }, req.connectTimeoutMs);
    timers.push(connectTimer);
    outgoing.once("socket", (socket) => {
      if (socket.connecting) socket.once("connect", () => clearTimeout(connectTimer));
      else clearTimeout(connectTimer);
    });
    signal?.addEventListener("abort", onAbort, { once: true });

    outgoing.on("error", (error) => finish(error));
    outgoing.on("response", (incoming) => {
      const status = incoming.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBodyBytes) {
          const error = Object.assign(new Error(`the answer from ${url.host} is larger than ${req.maxBodyBytes} bytes (HTTP ${status})`), {
            name: "ResponseTooLarge",
            $metadata: { httpStatusCode: status },
          });
          finish(error);
          return;
        }
        chunks.push(chunk);
      });
      incoming.on("error", (error) => finish(error));
      incoming.on("end", () => finish(undefined, { status, headers: incoming.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    outgoing.end(req.body);
  });
}
