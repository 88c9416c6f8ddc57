import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { Sha256 } from "@smithy/core/checksum";
import { SignatureV4 } from "@smithy/signature-v4";
import type { CallOptions, TagsApi } from "./api.js";
import { Timeouts } from "./constants.js";
import { resolveEc2Endpoint, type Ec2Endpoint } from "./ec2-endpoint.js";
import { Ec2QueryError, malformedResponse, parseDescribeTagsPage, serviceError } from "./ec2-response.js";
import { httpPost } from "./http-post.js";
import type { SdkApiOptions } from "./sdk.js";

/**
 * EC2 DescribeTags without the AWS SDK's EC2 client (1.6 MB of bundle and
 * ~100 ms of start-up for one call): the EC2 Query protocol by hand.
 *
 *   POST / (form-encoded) Action=DescribeTags&Version=2016-11-15
 *     &Filter.1.Name=resource-id&Filter.1.Value.1=i-…&Filter.2.Name=key&Filter.2.Value.1=…[&NextToken=…]
 *
 * signed with SigV4 (@smithy/signature-v4, service "ec2"), credentials from
 * the SDK's default chain (@aws-sdk/credential-provider-node, the instance
 * profile on EC2) unless given. These, the endpoint loaders (`ec2-endpoint.ts`)
 * and the hash are the modules the Auto Scaling client bundles anyway.
 *
 * Like the SDK clients of `sdk.ts`: one attempt per call (retries are
 * `retry.ts`'s), the connect and request timeouts of `constants.ts`, the
 * call's AbortSignal, clock-skew correction from the answers' `Date` header,
 * and failures shaped as the SDK shapes them so `classifyFailure` sorts them
 * the same way (see `ec2-response.ts`). Pages (`nextToken`) are followed, at
 * most MAX_PAGES of them.
 */

export const EC2_API_VERSION = "2016-11-15";
/** DescribeTags of one instance fits in one page (at most 50 user tags plus a few aws: ones); more pages means something is wrong. */
export const MAX_PAGES = 20;
/** One page of 1000 tags is ~250 kB of XML. */
export const MAX_RESPONSE_BYTES = 4 << 20;

/**
 * RFC 3986 percent-encoding (the SDK's extendedEncodeURIComponent), for the
 * form body: `encodeURIComponent` plus `!'()*`.
 */
export function encodeQueryComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The form body of one DescribeTags page: resource-id filter, optional key filter, optional NextToken. */
export function describeTagsForm(instanceId: string, keys: readonly string[] | undefined, nextToken?: string): string {
  const params: Array<[string, string]> = [
    ["Action", "DescribeTags"],
    ["Version", EC2_API_VERSION],
    ["Filter.1.Name", "resource-id"],
    ["Filter.1.Value.1", instanceId],
  ];
  if (keys?.length) {
    params.push(["Filter.2.Name", "key"]);
    keys.forEach((key, i) => params.push([`Filter.2.Value.${i + 1}`, key]));
  }
  if (nextToken !== undefined) params.push(["NextToken", nextToken]);
  return params.map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`).join("&");
}

/** Memoises an async factory; a failure is forgotten so the next call tries again. */
function once<T>(factory: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= factory().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

export function createEc2QueryTagsApi(options: SdkApiOptions): TagsApi {
  const given = options.credentials;
  const credentials = given === undefined ? defaultProvider() : typeof given === "function" ? () => given() : given;
  const connectTimeoutMs = options.connectTimeoutMs ?? Timeouts.API_CONNECT_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? Timeouts.API_REQUEST_TIMEOUT_MS;
  const setup = once(async () => {
    const endpoint = await resolveEc2Endpoint(options);
    const signer = new SignatureV4({ service: "ec2", region: endpoint.signingRegion, credentials, sha256: Sha256, uriEscapePath: true });
    return { endpoint, signer };
  });
  /** Server time minus local time, learned from the answers' Date header (the SDK's systemClockOffset). */
  let clockOffsetMs = 0;

  async function post(endpoint: Ec2Endpoint, signer: SignatureV4, body: string, call: CallOptions): Promise<{ status: number; body: string }> {
    const { url } = endpoint;
    const signed = await signer.sign(
      {
        method: "POST",
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname || "/",
        query: {},
        headers: { host: url.host, "content-type": "application/x-www-form-urlencoded" },
        body,
      },
      { signingDate: new Date(Date.now() + clockOffsetMs) },
    );
    const headers: Record<string, string> = { "user-agent": "nixboot" };
    for (const [name, value] of Object.entries(signed.headers)) headers[name] = value;
    const sentAt = Date.now();
    const response = await httpPost({ url, headers, body, connectTimeoutMs, requestTimeoutMs, maxBodyBytes: MAX_RESPONSE_BYTES, signal: call.signal });
    learnClockOffset(response.headers.date, response.headers.age, sentAt);
    if (response.status < 200 || response.status >= 300) throw serviceError(response.status, response.body, response.headers);
    return response;
  }

  /** As the SDK's getUpdatedSystemClockOffset: skipped for cached (Age) or slow (> 15 min) answers. */
  function learnClockOffset(date: string | undefined, age: string | undefined, sentAt: number): void {
    if (date === undefined || age !== undefined) return;
    const serverTime = Date.parse(date);
    const receivedAt = Date.now();
    if (Number.isNaN(serverTime) || receivedAt - sentAt > 900_000) return;
    clockOffsetMs = serverTime - receivedAt;
  }

  return {
    async describeInstanceTags(instanceId, keys, call = {}) {
      const { endpoint, signer } = await setup();
      const tags = new Map<string, string>(); // fromEntries below: a `__proto__` key stays a plain property
      const seen = new Set<string>();
      let nextToken: string | undefined;
      for (let page = 1; ; page++) {
        const answer = await post(endpoint, signer, describeTagsForm(instanceId, keys, nextToken), call);
        const result = parseDescribeTagsPage(answer.body, answer.status);
        for (const tag of result.tags) tags.set(tag.key, tag.value);
        nextToken = result.nextToken;
        if (nextToken === undefined) return Object.fromEntries(tags);
        if (seen.has(nextToken)) throw malformedResponse(200, `DescribeTags returned the same nextToken twice (page ${page})`);
        if (page >= MAX_PAGES) throw new Ec2QueryError("TooManyPages", `DescribeTags for ${instanceId} did not end within ${MAX_PAGES} pages`, 200);
        seen.add(nextToken);
      }
    },
  };
}
