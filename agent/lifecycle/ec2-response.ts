import type { IncomingHttpHeaders } from "node:http";
import { childElement, childElements, childText, localName, parseXml, XmlSyntaxError, type XmlElement } from "./xml.js";

/**
 * Reading EC2 Query answers (`ec2-query.ts`):
 *
 *   <DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 *     <requestId>…</requestId>
 *     <tagSet><item><resourceId/><resourceType/><key/><value/></item>…</tagSet>
 *     <nextToken>…</nextToken>
 *   </DescribeTagsResponse>
 *
 *   <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
 *
 * Errors are `Ec2QueryError`s shaped like the AWS SDK's service exceptions
 * (`name` and `Code` the AWS error code, `message`, `$metadata.httpStatusCode`,
 * `$fault`), which is what `classifyFailure` (api.ts) reads: the same answer
 * classifies as it did through @aws-sdk/client-ec2. As in the SDK's ec2Query
 * protocol, an error answer without a code is `Unknown` (`NotFound` for a
 * 404), and an unreadable answer keeps its HTTP status.
 */

export class Ec2QueryError extends Error {
  /** The AWS error code (also the name, as in the SDK); absent for `Unknown`/`NotFound`. */
  readonly Code: string | undefined;
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  readonly $fault: "client" | "server";

  constructor(name: string, message: string, status: number, options: { code?: string | undefined; requestId?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    this.Code = options.code;
    this.$metadata = { httpStatusCode: status, ...(options.requestId ? { requestId: options.requestId } : {}) };
    this.$fault = status >= 500 ? "server" : "client";
  }
}

export interface Ec2Tag {
  resourceId: string;
  resourceType: string;
  key: string;
  value: string;
}

export interface DescribeTagsPage {
  tags: Ec2Tag[];
  requestId: string | undefined;
  nextToken: string | undefined;
}

/** An answer that is not the XML it should be (name `MalformedResponse`), keeping the HTTP status. */
export function malformedResponse(status: number, detail: string, cause?: unknown, requestId?: string): Ec2QueryError {
  return new Ec2QueryError("MalformedResponse", `EC2 answered HTTP ${status} with an unreadable body: ${detail}`, status, { cause, requestId });
}

function parse(body: string, status: number): XmlElement {
  try {
    return parseXml(body);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw malformedResponse(status, `malformed XML: ${error.message}`, error);
    throw error;
  }
}

/** One page of a DescribeTags answer (HTTP 2xx). */
export function parseDescribeTagsPage(body: string, status: number): DescribeTagsPage {
  const root = parse(body, status);
  const requestId = childText(root, "requestId");
  if (localName(root) !== "DescribeTagsResponse") throw malformedResponse(status, `expected <DescribeTagsResponse>, got <${root.name}>`, undefined, requestId);
  const tagSet = childElement(root, "tagSet");
  const tags: Ec2Tag[] = [];
  for (const item of tagSet ? childElements(tagSet, "item") : []) {
    const key = childText(item, "key");
    if (key === undefined) continue; // as before: a tag without a key is skipped
    tags.push({ resourceId: childText(item, "resourceId") ?? "", resourceType: childText(item, "resourceType") ?? "", key, value: childText(item, "value") ?? "" });
  }
  const nextToken = childText(root, "nextToken");
  return { tags, requestId, nextToken: nextToken ? nextToken : undefined };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The error of a non-2xx answer: `<Response><Errors><Error>` (EC2's shape),
 * also `<ErrorResponse><Error>` and a bare `<Error>` (what the SDK's query
 * protocol reads too).
 */
export function serviceError(status: number, body: string, headers: IncomingHttpHeaders = {}): Ec2QueryError {
  const headerRequestId = header(headers, "x-amzn-requestid") ?? header(headers, "x-amz-request-id");
  const fallbackName = status === 404 ? "NotFound" : "Unknown";
  if (body.trim() === "") return new Ec2QueryError(fallbackName, `EC2 answered HTTP ${status} with an empty body`, status, { requestId: headerRequestId });
  let root: XmlElement;
  try {
    root = parseXml(body);
  } catch (error) {
    if (!(error instanceof XmlSyntaxError)) throw error;
    return new Ec2QueryError(fallbackName, `EC2 answered HTTP ${status} with an unreadable error body: malformed XML: ${error.message}`, status, { cause: error, requestId: headerRequestId });
  }
  const errors = localName(root) === "Error" ? root : childElement(root, "Errors") ?? root;
  const error = localName(errors) === "Error" ? errors : childElement(errors, "Error");
  const code = error ? childText(error, "Code")?.trim() : undefined;
  const message = (error && childText(error, "Message")) ?? "Unknown";
  const requestId = childText(root, "RequestID") ?? childText(root, "RequestId") ?? headerRequestId;
  if (!code) return new Ec2QueryError(fallbackName, `EC2 answered HTTP ${status} without an error code: ${message}`, status, { requestId });
  return new Ec2QueryError(code, message, status, { code, requestId });
}
