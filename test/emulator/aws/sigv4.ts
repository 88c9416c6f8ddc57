import { createHash, createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/**
 * Checks the `Authorization: AWS4-HMAC-SHA256 …` header of a request. Always
 * checks its structure (algorithm, Credential scope for the right service,
 * SignedHeaders, Signature, X-Amz-Date); when the emulator knows the secret
 * for the access key it also recomputes the signature, so a test proves the
 * real SDK signed what it sent.
 */

export type AuthProblem =
  | { kind: "missing" }
  | { kind: "incomplete"; message: string }
  | { kind: "unknown-key"; accessKeyId: string }
  | { kind: "mismatch"; message: string };

export type AuthCheck = { ok: true; accessKeyId: string; region: string } | { ok: false; problem: AuthProblem };

export interface SignedRequest {
  method: string;
  /** Raw request target: path plus optional `?query`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  const pairs = query
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const eq = part.indexOf("=");
      const key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
      const value = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " "));
      return [uriEncode(key), uriEncode(value)] as const;
    });
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(",") : value).trim().replace(/\s+/g, " ");
}

export function checkSignature(request: SignedRequest, service: string, secrets: ReadonlyMap<string, string> | undefined): AuthCheck {
  const authorization = headerValue(request.headers, "authorization");
  if (authorization === undefined || authorization === "") return { ok: false, problem: { kind: "missing" } };
  const incomplete = (message: string): AuthCheck => ({ ok: false, problem: { kind: "incomplete", message } });

  const match = /^AWS4-HMAC-SHA256 (.*)$/.exec(authorization);
  if (!match?.[1]) return incomplete(`Unsupported Authorization Type: expected AWS4-HMAC-SHA256`);
  const fields = new Map<string, string>();
  for (const part of match[1].split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  for (const [name, value] of [["Credential", credential], ["SignedHeaders", signedHeaders], ["Signature", signature]] as const) {
    if (!value) return incomplete(`Authorization header requires '${name}' parameter. Authorization=${authorization.split(" ")[0]}`);
  }
  const amzDate = headerValue(request.headers, "x-amz-date");
  if (!amzDate) return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");

  const scope = credential!.split("/");
  const [accessKeyId, date, region, scopeService, terminator] = scope;
  if (scope.length !== 5 || !accessKeyId || !date || !region || terminator !== "aws4_request") {
    return incomplete(`Credential should be scoped to a valid region, not '${region ?? ""}'.`);
  }
  if (scopeService !== service) {
    return { ok: false, problem: { kind: "mismatch", message: `Credential should be scoped to correct service: '${service}'.` } };
  }
  if (!amzDate.startsWith(date)) {
    return { ok: false, problem: { kind: "mismatch", message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${amzDate.slice(0, 8)}'` } };
  }
  if (!/^[0-9a-f]{64}$/.test(signature!)) return incomplete("Signature must be 64 lowercase hex characters.");

  if (secrets === undefined) return { ok: true, accessKeyId, region };
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return { ok: false, problem: { kind: "unknown-key", accessKeyId } };

  const queryAt = request.url.indexOf("?");
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? "" : request.url.slice(queryAt + 1);
  const names = signedHeaders!.split(";");
  const canonicalHeaders = names.map((name) => `${name}:${headerValue(request.headers, name) ?? ""}\n`).join("");
  const payloadHash = headerValue(request.headers, "x-amz-content-sha256") ?? sha256Hex(request.body);
  const canonicalRequest = [request.method, path === "" ? "/" : path, canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope.slice(1).join("/"), sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  if (expected !== signature) {
    return {
      ok: false,
      problem: {
        kind: "mismatch",
        message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      },
    };
  }
  return { ok: true, accessKeyId, region };
}
