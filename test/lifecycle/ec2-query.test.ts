import { DescribeTagsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { classifyFailure } from "../../agent/lifecycle/api.js";
import { createEc2QueryTagsApi, describeTagsForm, MAX_PAGES } from "../../agent/lifecycle/ec2-query.js";
import { withRetry } from "../../agent/lifecycle/retry.js";
import { createSdkTagsApi } from "../../agent/lifecycle/sdk.js";
import { silentLogger } from "../../agent/log/logger.js";
import { startAwsEmulator, type AwsEmulator, type FaultKind } from "../emulator/aws/index.js";
import { parseForm } from "../emulator/aws/query.js";
import { checkSignature } from "../emulator/aws/sigv4.js";
import { ec2Error, ec2Response, escapeXml } from "../emulator/aws/xml.js";
import { CREDENTIALS, FAST_RETRY, REGION, steppingClock } from "./helpers.js";

const GROUP_TAG = "aws:autoscaling:groupName";
let emulator: AwsEmulator;
const servers: Server[] = [];

beforeEach(async () => {
  // Signatures are recomputed with the secret and verified, not only checked for shape.
  emulator = await startAwsEmulator({ credentials: [CREDENTIALS], region: REGION, groups: [{ name: "web", instances: ["i-0aaa"] }] });
  emulator.state.setTags("i-0zzz", { Name: "standalone" });
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await emulator.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const api = (extra: Parameters<typeof createEc2QueryTagsApi>[0] extends infer O ? Partial<O> : never = {}) =>
  createEc2QueryTagsApi({ region: REGION, endpoint: emulator.url, credentials: CREDENTIALS, ...extra });
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error,
  );

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** An EC2 endpoint of the test's making, checking SigV4 signatures with the emulator's own verifier. */
async function signedServer(answer: (params: Map<string, string>, req: IncomingMessage) => Answer | null): Promise<{ url: string; requests: Array<Map<string, string>> }> {
  const requests: Array<Map<string, string>> = [];
  const secrets = new Map([[CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey]]);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const auth = checkSignature({ method: req.method ?? "", url: req.url ?? "/", headers: req.headers, body }, "ec2", secrets);
      if (!auth.ok) {
        res.writeHead(401, { "content-type": "text/xml" }).end(ec2Error("AuthFailure", JSON.stringify(auth.problem), "req-auth"));
        return;
      }
      const params = parseForm(body.toString("utf8"));
      requests.push(params);
      const reply = answer(params, req);
      if (reply === null) return; // never answers
      res.writeHead(reply.status, { "content-type": "text/xml", ...reply.headers }).end(reply.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const tagItem = (key: string, value: string, resourceId = "i-0aaa") =>
  `<item><resourceId>${resourceId}</resourceId><resourceType>instance</resourceType><key>${escapeXml(key)}</key><value>${value}</value></item>`;
const tagsPage = (items: string[], nextToken?: string) =>
  ec2Response("DescribeTags", `<tagSet>${items.join("")}</tagSet>${nextToken ? `<nextToken>${nextToken}</nextToken>` : ""}`, "req-1");

describe("EC2 DescribeTags over the Query protocol", () => {
  it("finds the instance's tags with a signed, form-encoded request filtered by instance and keys", async () => {
    await expect(api().describeInstanceTags("i-0aaa", [GROUP_TAG])).resolves.toEqual({ [GROUP_TAG]: "web" });
    const [request] = emulator.state.requests("DescribeTags");
    expect(request).toMatchObject({ status: 200, accessKeyId: CREDENTIALS.accessKeyId, service: "ec2" });
    expect(request!.params).toEqual({
      Action: "DescribeTags",
      Version: "2016-11-15",
      "Filter.1.Name": "resource-id",
      "Filter.1.Value.1": "i-0aaa",
      "Filter.2.Name": "key",
      "Filter.2.Value.1": GROUP_TAG,
    });
  });

  it("answers every tag without a key filter, and none for an instance without the asked tag", async () => {
    emulator.state.setTags("i-0aaa", { Name: "web-1", team: "" });
    await expect(api().describeInstanceTags("i-0aaa")).resolves.toEqual({ [GROUP_TAG]: "web", Name: "web-1", team: "" });
    await expect(api().describeInstanceTags("i-0zzz", [GROUP_TAG])).resolves.toEqual({});
    await expect(api().describeInstanceTags("i-unknown")).resolves.toEqual({});
    expect(emulator.state.requests("DescribeTags")[0]!.params).not.toHaveProperty("Filter.2.Name");
  });

  it("encodes values RFC 3986-style and decodes XML entities in answers", async () => {
    expect(describeTagsForm("i-1", ["a b", "x&y=z!*'()"])).toBe(
      "Action=DescribeTags&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1=i-1&Filter.2.Name=key&Filter.2.Value.1=a%20b&Filter.2.Value.2=x%26y%3Dz%21%2A%27%28%29",
    );
    emulator.state.setTags("i-0aaa", { "k<&>": "a<b>&c 'd' \"e\" é😀" });
    await expect(api().describeInstanceTags("i-0aaa", ["k<&>"])).resolves.toEqual({ "k<&>": "a<b>&c 'd' \"e\" é😀" });
    const server = await signedServer(() => ({ status: 200, body: tagsPage([tagItem("q", "&quot;&apos;&lt;&gt;&amp;&#233;&#x1F600;")]) }));
    await expect(api({ endpoint: server.url }).describeInstanceTags("i-0aaa")).resolves.toEqual({ q: `"'<>&é😀` });
    const proto = await signedServer(() => ({ status: 200, body: tagsPage([tagItem("__proto__", "x")]) }));
    const odd = await api({ endpoint: proto.url }).describeInstanceTags("i-0aaa");
    expect([Object.keys(odd), Object.getPrototypeOf(odd)]).toEqual([["__proto__"], Object.prototype]);
  });

  it("follows nextToken across pages, and stops an answer that never ends", async () => {
    const pages = [tagsPage([tagItem("a", "1")], "t1"), tagsPage([tagItem("b", "2"), tagItem("c", "3")], "t2"), tagsPage([tagItem("d", "4")])];
    const paged = await signedServer((params) => ({ status: 200, body: pages[params.get("NextToken") === "t2" ? 2 : params.get("NextToken") === "t1" ? 1 : 0]! }));
    await expect(api({ endpoint: paged.url }).describeInstanceTags("i-0aaa")).resolves.toEqual({ a: "1", b: "2", c: "3", d: "4" });
    expect(paged.requests.map((p) => p.get("NextToken") ?? null)).toEqual([null, "t1", "t2"]);
    expect(paged.requests[1]!.get("Filter.1.Value.1")).toBe("i-0aaa");

    let n = 0;
    const endless = await signedServer(() => ({ status: 200, body: tagsPage([], `t${++n}`) }));
    const error = await failure(api({ endpoint: endless.url }).describeInstanceTags("i-0aaa"));
    expect(error).toMatchObject({ name: "TooManyPages" });
    expect(endless.requests).toHaveLength(MAX_PAGES);
    expect(classifyFailure(error)).toMatchObject({ kind: "invalid", retryable: false });
    const looping = await signedServer(() => ({ status: 200, body: tagsPage([], "same") }));
    await expect(api({ endpoint: looping.url }).describeInstanceTags("i-0aaa")).rejects.toThrow(/same nextToken twice/);
  });

  it("classifies every EC2 failure exactly as the SDK's EC2 client did", async () => {
    const sdk = new EC2Client({ region: REGION, endpoint: emulator.url, credentials: CREDENTIALS, maxAttempts: 1 });
    const ours = api();
    const kinds: Array<[FaultKind, string]> = [
      ["throttling", "throttled"],
      ["access-denied", "denied"],
      ["unavailable", "server"],
      ["bare-503", "server"],
      ["resource-contention", "server"],
    ];
    for (const [fault, kind] of kinds) {
      emulator.state.injectFault({ kind: fault, actions: ["DescribeTags"], times: 2 });
      const viaSdk = classifyFailure(await failure(sdk.send(new DescribeTagsCommand({ Filters: [{ Name: "resource-id", Values: ["i-0aaa"] }] }))));
      const viaQuery = classifyFailure(await failure(ours.describeInstanceTags("i-0aaa")));
      expect(viaQuery.kind, fault).toBe(kind);
      const { message: sdkMessage, ...sdkRest } = viaSdk;
      const { message, ...rest } = viaQuery;
      expect(rest, fault).toEqual(sdkRest);
      if (fault !== "bare-503") expect(message, fault).toBe(sdkMessage);
    }
    // Refused signature (wrong secret): AuthFailure, HTTP 401, not retryable, both ways.
    const wrong = { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: "nope" };
    const sdkAuth = classifyFailure(await failure(new EC2Client({ region: REGION, endpoint: emulator.url, credentials: wrong, maxAttempts: 1 }).send(new DescribeTagsCommand({}))));
    expect(classifyFailure(await failure(api({ credentials: wrong }).describeInstanceTags("i-0aaa")))).toEqual(sdkAuth);
    expect(sdkAuth).toMatchObject({ code: "AuthFailure", httpStatus: 401, retryable: false });
  });

  it("names the throttling code and status: RequestLimitExceeded (503) is retried, UnauthorizedOperation (403) is not", async () => {
    emulator.state.injectFault({ kind: "throttling", actions: ["DescribeTags"], times: 1 });
    const throttled = await failure(api().describeInstanceTags("i-0aaa"));
    expect(throttled).toMatchObject({ name: "RequestLimitExceeded", Code: "RequestLimitExceeded", message: "Request limit exceeded.", $metadata: { httpStatusCode: 503 } });
    expect(classifyFailure(throttled)).toEqual({ kind: "throttled", code: "RequestLimitExceeded", httpStatus: 503, message: "Request limit exceeded.", retryable: true });

    emulator.state.injectFault({ kind: "access-denied", actions: ["DescribeTags"], times: 1 });
    const denied = classifyFailure(await failure(api().describeInstanceTags("i-0aaa")));
    expect(denied).toMatchObject({ kind: "denied", code: "UnauthorizedOperation", httpStatus: 403, retryable: false });
    expect(denied.message).toMatch(/not authorized to perform: ec2:DescribeTags/);
  });

  it("is retried by withRetry through throttling and 503s until it answers", async () => {
    emulator.state.injectFault({ kind: "throttling", actions: ["DescribeTags"], times: 2 });
    emulator.state.injectFault({ kind: "bare-503", actions: ["DescribeTags"], times: 1 });
    const clock = steppingClock();
    const tags = api();
    const { value, attempts } = await withRetry(() => tags.describeInstanceTags("i-0aaa", [GROUP_TAG]), {
      operation: "DescribeTags",
      clock,
      deadline: clock.now() + 60_000,
      logger: silentLogger(),
      policy: FAST_RETRY,
    });
    expect([value, attempts]).toEqual([{ [GROUP_TAG]: "web" }, 4]);
    expect(emulator.state.requests("DescribeTags").map((r) => r.status)).toEqual([503, 503, 503, 200]);
  });

  it("fails clearly on malformed XML: not retried from a 200, retried from a 5xx", async () => {
    const bad = await signedServer((params) => ({
      status: params.get("Filter.1.Value.1") === "i-500" ? 500 : 200,
      body: `<DescribeTagsResponse><tagSet><item><key>a</key></tagSet></DescribeTagsResponse>`,
    }));
    const ok = await failure(api({ endpoint: bad.url }).describeInstanceTags("i-0aaa"));
    expect(ok).toMatchObject({ name: "MalformedResponse", $metadata: { httpStatusCode: 200 } });
    expect((ok as Error).message).toBe("EC2 answered HTTP 200 with an unreadable body: malformed XML: </tagSet> does not close <item> (opened at offset 30) at offset 50");
    expect(classifyFailure(ok)).toMatchObject({ kind: "invalid", retryable: false });
    const server = classifyFailure(await failure(api({ endpoint: bad.url }).describeInstanceTags("i-500")));
    expect(server).toMatchObject({ kind: "server", code: "Unknown", httpStatus: 500, retryable: true });
    expect(server.message).toMatch(/unreadable error body: malformed XML/);

    const wrongRoot = await signedServer(() => ({ status: 200, body: "<html><body>captive portal</body></html>" }));
    await expect(api({ endpoint: wrongRoot.url }).describeInstanceTags("i-0aaa")).rejects.toThrow("EC2 answered HTTP 200 with an unreadable body: expected <DescribeTagsResponse>, got <html>");
  });

  it("ends a call with no answer at the request timeout (retryable), and an aborted call at once (not retryable)", async () => {
    const silent = await signedServer(() => null);
    const timedOut = await failure(api({ endpoint: silent.url, requestTimeoutMs: 200 }).describeInstanceTags("i-0aaa"));
    expect(timedOut).toMatchObject({ name: "TimeoutError", code: "ETIMEDOUT" });
    expect(classifyFailure(timedOut)).toMatchObject({ kind: "network", retryable: true });

    const controller = new AbortController();
    const call = api({ endpoint: silent.url }).describeInstanceTags("i-0aaa", undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const aborted = await failure(call);
    expect(aborted).toMatchObject({ name: "AbortError", message: "Request aborted" });
    expect(classifyFailure(aborted)).toMatchObject({ kind: "aborted", retryable: false });
  });

  it("classifies a refused connection as a retryable network failure", async () => {
    const closed = await signedServer(() => null);
    const url = closed.url;
    const server = servers.pop()!;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = classifyFailure(await failure(api({ endpoint: url }).describeInstanceTags("i-0aaa")));
    expect(error).toMatchObject({ kind: "network", code: "ECONNREFUSED", httpStatus: undefined, retryable: true });
  });

  it("signs with the time the server tells after a clock-skew refusal", async () => {
    const serverTime = Date.now() + 3_600_000;
    const dates: string[] = [];
    const skewed = await signedServer((_params, req) => {
      dates.push(String(req.headers["x-amz-date"]));
      const headers = { date: new Date(serverTime).toUTCString() };
      return dates.length === 1 ? { status: 400, body: ec2Error("RequestExpired", "Request has expired.", "r"), headers } : { status: 200, body: tagsPage([]), headers };
    });
    const tags = api({ endpoint: skewed.url });
    const first = classifyFailure(await failure(tags.describeInstanceTags("i-0aaa")));
    expect(first).toMatchObject({ kind: "credentials", code: "RequestExpired", retryable: true });
    await tags.describeInstanceTags("i-0aaa");
    const signedAt = (amzDate: string) => Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
    expect(Math.abs(signedAt(dates[0]!) - Date.now())).toBeLessThan(600_000);
    expect(Math.abs(signedAt(dates[1]!) - serverTime)).toBeLessThan(600_000);
  });

  it("takes credentials (with a session token) from a provider or the SDK's default chain, and the endpoint from AWS_ENDPOINT_URL_EC2", async () => {
    const provider = async () => ({ ...CREDENTIALS, sessionToken: "token-1" });
    await expect(api({ credentials: provider }).describeInstanceTags("i-0aaa", [GROUP_TAG])).resolves.toEqual({ [GROUP_TAG]: "web" });

    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/nixboot-test-config");
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/nixboot-test-credentials");
    vi.stubEnv("AWS_ACCESS_KEY_ID", CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secretAccessKey);
    vi.stubEnv("AWS_ENDPOINT_URL_EC2", emulator.url);
    vi.stubEnv("AWS_ENDPOINT_URL", "http://127.0.0.1:9"); // the service's own variable wins
    const viaChain = createSdkTagsApi({ region: REGION });
    await expect(viaChain.describeInstanceTags("i-0aaa", [GROUP_TAG])).resolves.toEqual({ [GROUP_TAG]: "web" });
    expect(emulator.state.requests("DescribeTags").map((r) => [r.status, r.accessKeyId])).toEqual([
      [200, CREDENTIALS.accessKeyId],
      [200, CREDENTIALS.accessKeyId],
    ]);
  });

  it("reports missing credentials as the SDK did: a CredentialsProviderError, not retried", async () => {
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/nixboot-test-config");
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/nixboot-test-credentials");
    vi.stubEnv("AWS_ACCESS_KEY_ID", "");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "");
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "");
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "");
    vi.stubEnv("AWS_WEB_IDENTITY_TOKEN_FILE", "");
    const error = await failure(createEc2QueryTagsApi({ region: REGION, endpoint: emulator.url }).describeInstanceTags("i-0aaa"));
    expect(classifyFailure(error)).toMatchObject({ kind: "credentials", retryable: false });
    expect(emulator.state.requestCount()).toBe(0);
  });
});
