/**
 * The two XML dialects the emulator speaks, in the shapes the real services
 * send (and the SDK's awsQuery / ec2Query parsers read):
 *
 * Auto Scaling (awsQuery):
 *   <XResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
 *     <XResult>…</XResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
 *   </XResponse>
 *   <ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
 *     <RequestId>…</RequestId></ErrorResponse>
 *
 * EC2 (ec2Query): no Result wrapper, lower-camel element names, `item` lists:
 *   <XResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>…</requestId>…</XResponse>
 *   <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>
 */

export const AUTOSCALING_VERSION = "2011-01-01";
export const EC2_VERSION = "2016-11-15";
export const AUTOSCALING_XMLNS = `http://autoscaling.amazonaws.com/doc/${AUTOSCALING_VERSION}/`;
export const EC2_XMLNS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;

/** Escapes text content (quotes stay as they are, as AWS sends them). */
export function escapeXml(value: string): string {
  return value.replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c] ?? c);
}

/** `<name>escaped value</name>`, or nothing when the value is absent. */
export function leaf(name: string, value: string | number | boolean | undefined | null): string {
  return value === undefined || value === null ? "" : `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name>children</name>`, children already serialised. */
export function node(name: string, ...children: string[]): string {
  return `<${name}>${children.join("")}</${name}>`;
}

/** An awsQuery list: `<name><member>…</member>…</name>`. */
export function memberList(name: string, items: string[]): string {
  return node(name, ...items.map((item) => node("member", item)));
}

/** An ec2Query list: `<name><item>…</item>…</name>`. */
export function itemList(name: string, items: string[]): string {
  return node(name, ...items.map((item) => node("item", item)));
}

export function autoScalingResponse(action: string, result: string, requestId: string): string {
  return (
    `<${action}Response xmlns="${AUTOSCALING_XMLNS}">` +
    node(`${action}Result`, result) +
    node("ResponseMetadata", leaf("RequestId", requestId)) +
    `</${action}Response>`
  );
}

export function autoScalingError(code: string, message: string, requestId: string, type: "Sender" | "Receiver" = "Sender"): string {
  return (
    `<ErrorResponse xmlns="${AUTOSCALING_XMLNS}">` +
    node("Error", leaf("Type", type), leaf("Code", code), leaf("Message", message)) +
    leaf("RequestId", requestId) +
    `</ErrorResponse>`
  );
}

export function ec2Response(action: string, body: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">${leaf("requestId", requestId)}${body}</${action}Response>`;
}

export function ec2Error(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${node("Errors", node("Error", leaf("Code", code), leaf("Message", message)))}${leaf("RequestID", requestId)}</Response>`;
}
