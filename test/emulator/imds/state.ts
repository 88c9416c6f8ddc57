/**
 * The mutable state behind the local IMDS emulator. Tests change it between
 * (or during) requests: the next request sees the new values.
 */

/** An instance-profile role, served under `/latest/meta-data/iam/`. */
export interface ImdsRole {
  name: string;
  instanceProfileArn: string;
  instanceProfileId: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/**
 * One scripted fault: the next `count` matching requests get `response`
 * instead of their normal answer. A number is an HTTP status (500, 503, 429,
 * even 401 or 403); `"truncate"` sends the headers with the full
 * Content-Length and half the body, then destroys the socket; `"reset"`
 * destroys the socket without answering; `"hang"` never answers (the client's
 * timeout has to end it).
 */
export interface ImdsFaultBurst {
  count: number;
  response: number | "truncate" | "reset" | "hang";
  /** Only requests to this exact path (e.g. `/latest/api/token`); all paths when omitted. */
  path?: string;
  /** Only requests with this method; all methods when omitted. */
  method?: "GET" | "PUT";
}

export interface ImdsFaults {
  /** Every request waits this long before it is answered. */
  delayMs: number;
  /** Consumed in order; the first burst matching a request with `count > 0` answers it. */
  bursts: ImdsFaultBurst[];
}

/** One request the emulator received. `status` is null when it got no answer (reset, hang). */
export interface ImdsRequestRecord {
  method: string;
  path: string;
  status: number | null;
  fault?: "burst" | "truncate" | "reset" | "hang";
  /** Emulator clock (`now()`) when the request arrived. */
  at: number;
}

export interface ImdsEmulatorState {
  /** Raw userdata bytes (served binary-exact), or null for "no userdata" (404). */
  userdata: Buffer | null;
  instanceId: string;
  region: string;
  availabilityZone: string;
  accountId: string;
  imageId: string;
  instanceType: string;
  privateIp: string;
  /** `InstanceMetadataTags=enabled`; when false everything under `meta-data/tags/` is 404. */
  tagsEnabled: boolean;
  /** The `aws:autoscaling:groupName` tag, or null when the instance has none. */
  autoScalingGroupName: string | null;
  /** E.g. `InService`, `Warmed:Stopped`, `Terminated`; null: not in a group (404). */
  targetLifecycleState: string | null;
  /** The instance profile's role, or null when the instance has none. */
  role: ImdsRole | null;
  /** `HttpEndpoint=disabled`: every request, token PUT included, gets 403. */
  disabled: boolean;
  faults: ImdsFaults;
  /** Every request received, in order. */
  requests: ImdsRequestRecord[];
}

export function defaultImdsState(): ImdsEmulatorState {
  return {
    userdata: null,
    instanceId: "i-0123456789abcdef0",
    region: "eu-west-1",
    availabilityZone: "eu-west-1a",
    accountId: "123456789012",
    imageId: "ami-0123456789abcdef0",
    instanceType: "t3.micro",
    privateIp: "10.0.1.23",
    tagsEnabled: true,
    autoScalingGroupName: "nixboot-fleet",
    targetLifecycleState: "InService",
    role: {
      name: "nixboot-instance",
      instanceProfileArn: "arn:aws:iam::123456789012:instance-profile/nixboot-instance",
      instanceProfileId: "AIPAEXAMPLEPROFILEID0",
      accessKeyId: "ASIAEXAMPLEKEYID0000",
      secretAccessKey: "emulatorSecretAccessKey0000000000000000000",
      sessionToken: "emulatorSessionToken",
    },
    disabled: false,
    faults: { delayMs: 0, bursts: [] },
    requests: [],
  };
}
