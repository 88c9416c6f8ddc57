import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AUTOSCALING_HANDLERS, ApiFailure } from "./autoscaling.js";
import { EC2_HANDLERS } from "./ec2.js";
import type { FaultKind, FaultSpec, RateLimit } from "./faults.js";
import { parseForm } from "./query.js";
import { checkSignature, type AuthProblem } from "./sigv4.js";
import type { GroupSpec, RequestRecord } from "./model.js";
import { AwsEmulatorState } from "./state.js";
import { AUTOSCALING_VERSION, EC2_VERSION, autoScalingError, autoScalingResponse, ec2Error, ec2Response } from "./xml.js";

/**
 * A local Auto Scaling + EC2 Query-protocol endpoint for tests, the demo and
 * the scale benchmark. One server answers both services: the `Action` (and
 * the `Version` the SDK sends with it) says which one a request is for.
 */

export interface AwsEmulatorOptions {
  /** Time as the emulator sees it (timeouts, rate limits, records); defaults to `Date.now`. */
  clock?: { now(): number };
  groups?: GroupSpec[];
  /** Keys whose signatures are recomputed and verified; others get `InvalidClientTokenId`. Without it only the signature's shape is checked. */
  credentials?: ReadonlyArray<{ accessKeyId: string; secretAccessKey: string }>;
  faults?: FaultSpec[];
  rateLimit?: RateLimit;
  /** How often expired lifecycle actions get their default result by timer (ms); 0 for "only when state is read". Default 100. */
  sweepIntervalMs?: number;
  /** Refuse heartbeats past this count per action (AWS itself limits time, not count). */
  maxHeartbeatsPerAction?: number;
  region?: string;
  accountId?: string;
}

export interface AwsEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`: give it to the SDK as `endpoint`. */
  readonly url: string;
  readonly state: AwsEmulatorState;
  close(): Promise<void>;
}

type Service = "autoscaling" | "ec2";

interface Answer {
  status: number;
  body: string;
  errorCode?: string;
}

const MAX_BODY_BYTES = 1 << 20;

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const clock = options.clock ?? { now: () => Date.now() };
  const state = new AwsEmulatorState({
    now: () => clock.now(),
    ...(options.maxHeartbeatsPerAction !== undefined ? { maxHeartbeatsPerAction: options.maxHeartbeatsPerAction } : {}),
  });
  for (const group of options.groups ?? []) state.addGroup(group);
  for (const fault of options.faults ?? []) state.injectFault(fault);
  if (options.rateLimit) state.setRateLimit(options.rateLimit);
  const secrets = options.credentials ? new Map(options.credentials.map((c) => [c.accessKeyId, c.secretAccessKey])) : undefined;
  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "123456789012";

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" }).end(`emulator bug: ${String(error)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const requestId = randomUUID();
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const params = parseForm(queryAt < 0 ? "" : url.slice(queryAt + 1));
    const contentType = String(req.headers["content-type"] ?? "");
    const isForm = contentType.split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded";
    if (req.method === "POST" && isForm) for (const [k, v] of parseForm(body.toString("utf8"))) params.set(k, v);

    const action = params.get("Action") ?? "";
    const service = serviceOf(action, params.get("Version"), String(req.headers.authorization ?? ""));
    const record: RequestRecord = { at: clock.now(), requestId, service: action === "" ? "unknown" : service, action, params: Object.fromEntries(params), status: 0 };
    state.logRequest(record);

    const answer = answerFor();
    record.status = answer.status;
    if (answer.errorCode) record.errorCode = answer.errorCode;
    res.writeHead(answer.status, { "content-type": "text/xml", "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(answer.body) });
    res.end(answer.body);

    function answerFor(): Answer {
      const auth = checkSignature({ method: req.method ?? "GET", url, headers: req.headers, body }, service, secrets);
      if (!auth.ok) return authFailure(service, auth.problem);
      record.accessKeyId = auth.accessKeyId;
      if (req.method !== "POST" && req.method !== "GET") return fail(service, 400, "InvalidAction", `Method ${req.method} is not allowed: use POST with a form-encoded body`);
      if (action === "") {
        const why = req.method === "POST" && !isForm ? `: the body must be application/x-www-form-urlencoded, not '${contentType || "(none)"}'` : "";
        return fail(service, 400, "MissingAction", `Missing Action${why}`);
      }
      const expectedVersion = service === "ec2" ? EC2_VERSION : AUTOSCALING_VERSION;
      const version = params.get("Version");
      if (!version) return fail(service, 400, "MissingParameter", "The request must contain the parameter Version");
      const handler = service === "ec2" ? EC2_HANDLERS[action] : AUTOSCALING_HANDLERS[action];
      if (!handler) return fail(service, 400, "InvalidAction", `Could not find operation ${action} for version ${version}`);
      if (version !== expectedVersion) return fail(service, 400, "NoSuchVersion", `The requested version (${version}) of service ${service} does not exist`);

      const fault = state.faults.take(action);
      if (fault) return faultAnswer(service, fault, action, params.get("AutoScalingGroupName"));
      try {
        const inner = handler(params, state);
        return { status: 200, body: service === "ec2" ? ec2Response(action, inner, requestId) : autoScalingResponse(action, inner, requestId) };
      } catch (error) {
        if (error instanceof ApiFailure) return fail(service, error.status, error.code, error.message);
        throw error;
      }
    }

    function fail(svc: Service, status: number, code: string, message: string): Answer {
      const xml = svc === "ec2" ? ec2Error(code, message, requestId) : autoScalingError(code, message, requestId, status >= 500 ? "Receiver" : "Sender");
      return { status, body: xml, errorCode: code };
    }

    function authFailure(svc: Service, problem: AuthProblem): Answer {
      switch (problem.kind) {
        case "missing":
          return svc === "ec2"
            ? fail(svc, 400, "MissingParameter", "The request must contain the parameter AWSAccessKeyId")
            : fail(svc, 403, "MissingAuthenticationToken", "Request is missing Authentication Token");
        case "incomplete":
          return fail(svc, 400, "IncompleteSignature", problem.message);
        case "unknown-key":
          return svc === "ec2"
            ? fail(svc, 401, "AuthFailure", "AWS was not able to validate the provided access credentials")
            : fail(svc, 403, "InvalidClientTokenId", "The security token included in the request is invalid.");
        case "mismatch":
          return svc === "ec2" ? fail(svc, 401, "AuthFailure", problem.message) : fail(svc, 403, "SignatureDoesNotMatch", problem.message);
      }
    }

    function faultAnswer(svc: Service, kind: FaultKind, act: string, group: string | undefined): Answer {
      const principal = `arn:aws:sts::${accountId}:assumed-role/nixboot-instance/${String(params.get("InstanceId") ?? "i-emulated")}`;
      switch (kind) {
        case "throttling":
          return svc === "ec2" ? fail(svc, 503, "RequestLimitExceeded", "Request limit exceeded.") : fail(svc, 400, "Throttling", "Rate exceeded");
        case "resource-contention":
          return svc === "ec2"
            ? fail(svc, 500, "InternalError", "An internal error has occurred")
            : fail(svc, 500, "ResourceContention", "You already have a pending update to an Auto Scaling resource (for example, a group, instance, or load balancer).");
        case "unavailable":
          return svc === "ec2" ? fail(svc, 503, "Unavailable", "The server is overloaded and can't handle the request.") : fail(svc, 503, "ServiceUnavailable", "Service is unavailable");
        case "bare-503":
          return { status: 503, body: "", errorCode: "HTTP503" };
        case "access-denied": {
          if (svc === "ec2") {
            return fail(svc, 403, "UnauthorizedOperation", `You are not authorized to perform this operation. User: ${principal} is not authorized to perform: ec2:${act} because no identity-based policy allows the ec2:${act} action`);
          }
          const resource = group ? `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/${group}` : "*";
          return fail(svc, 403, "AccessDenied", `User: ${principal} is not authorized to perform: autoscaling:${act} on resource: ${resource} because no identity-based policy allows the autoscaling:${act} action`);
        }
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const sweepIntervalMs = options.sweepIntervalMs ?? 100;
  const sweeper = sweepIntervalMs > 0 ? setInterval(() => state.sweep(), sweepIntervalMs).unref() : undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: async () => {
      if (sweeper) clearInterval(sweeper);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serviceOf(action: string, version: string | undefined, authorization: string): Service {
  if (action in AUTOSCALING_HANDLERS) return "autoscaling";
  if (action in EC2_HANDLERS) return "ec2";
  if (version === EC2_VERSION) return "ec2";
  if (version === AUTOSCALING_VERSION) return "autoscaling";
  return /Credential=[^/]+\/[^/]+\/[^/]+\/ec2\//.test(authorization) ? "ec2" : "autoscaling";
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
