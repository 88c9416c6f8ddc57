import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
  type CompleteLifecycleActionCommandInput,
} from "@aws-sdk/client-auto-scaling";
import { DescribeTagsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from "./aws/index.js";

const CREDS = { accessKeyId: "AKIDEMULATORTEST", secretAccessKey: "emulator-secret" };
const GROUP = {
  name: "web",
  instances: ["i-0aaa", { instanceId: "i-0bbb", availabilityZone: "us-east-1b" }],
  hooks: [
    { name: "launch", heartbeatTimeoutSeconds: 60, defaultResult: "ABANDON" as const },
    { name: "drain", transition: "autoscaling:EC2_INSTANCE_TERMINATING" as const },
  ],
};

let emulator: AwsEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: AwsEmulatorOptions = {}): Promise<{ emu: AwsEmulator; as: AutoScalingClient; ec2: EC2Client }> {
  emulator = await startAwsEmulator({ credentials: [CREDS], groups: [GROUP], ...options });
  const config = { endpoint: emulator.url, region: "us-east-1", credentials: CREDS, maxAttempts: 1 };
  return { emu: emulator, as: new AutoScalingClient(config), ec2: new EC2Client(config) };
}

const complete = (input: Partial<CompleteLifecycleActionCommandInput> = {}) =>
  new CompleteLifecycleActionCommand({ AutoScalingGroupName: "web", LifecycleHookName: "launch", InstanceId: "i-0aaa", LifecycleActionResult: "CONTINUE", ...input } as CompleteLifecycleActionCommandInput);

async function rejection(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("expected the call to fail");
}

describe("AWS emulator, read by the real SDK clients", () => {
  it("answers DescribeAutoScalingInstances, DescribeLifecycleHooks and DescribeTags in shapes the SDK parses", async () => {
    const { as, ec2 } = await start();
    const instances = await as.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ["i-0bbb", "i-unknown"] }));
    expect(instances.AutoScalingInstances).toEqual([
      expect.objectContaining({ InstanceId: "i-0bbb", AutoScalingGroupName: "web", AvailabilityZone: "us-east-1b", LifecycleState: "InService", HealthStatus: "HEALTHY" }),
    ]);
    const hooks = await as.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" }));
    expect(hooks.LifecycleHooks?.map((h) => [h.LifecycleHookName, h.LifecycleTransition, h.HeartbeatTimeout, h.GlobalTimeout, h.DefaultResult])).toEqual([
      ["launch", "autoscaling:EC2_INSTANCE_LAUNCHING", 60, 6000, "ABANDON"],
      ["drain", "autoscaling:EC2_INSTANCE_TERMINATING", 3600, 172800, "ABANDON"],
    ]);
    const named = await as.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web", LifecycleHookNames: ["drain"] }));
    expect(named.LifecycleHooks?.map((h) => h.LifecycleHookName)).toEqual(["drain"]);
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: "resource-id", Values: ["i-0aaa"] }, { Name: "key", Values: ["aws:autoscaling:groupName"] }] }));
    expect(tags.Tags).toEqual([{ ResourceId: "i-0aaa", ResourceType: "instance", Key: "aws:autoscaling:groupName", Value: "web" }]);
    expect(tags.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("records completions and heartbeats of a pending action, then says no action is active", async () => {
    const { emu, as } = await start();
    const action = emu.state.startLifecycleAction("i-0aaa");
    expect(emu.state.instance("i-0aaa")?.lifecycleState).toBe("Pending:Wait");
    await as.send(new RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: "web", LifecycleHookName: "launch", InstanceId: "i-0aaa" }));
    await as.send(complete({ LifecycleActionResult: "ABANDON" }));
    expect(emu.state.heartbeats("i-0aaa")).toHaveLength(1);
    expect(emu.state.completions()).toEqual([expect.objectContaining({ instanceId: "i-0aaa", hook: "launch", result: "ABANDON", via: "api", token: action.token })]);
    expect(emu.state.instance("i-0aaa")?.lifecycleState).toBe("Terminated");
    const again = await rejection(as.send(complete()));
    expect(again).toEqual({ name: "ValidationError", message: "No active Lifecycle Action found with instance ID i-0aaa", status: 400 });
  });

  it("applies the hook's default result when the heartbeat timeout runs out, and caps heartbeats at the global timeout", async () => {
    let now = Date.UTC(2025, 0, 1);
    const { emu, as } = await start({ clock: { now: () => now }, sweepIntervalMs: 0 });
    emu.state.addGroup({ name: "short", instances: ["i-0ccc"], hooks: [{ name: "launch", heartbeatTimeoutSeconds: 30, globalTimeoutSeconds: 50, defaultResult: "CONTINUE" }] });
    const action = emu.state.startLifecycleAction("i-0ccc");
    now += 25_000;
    await as.send(new RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: "short", LifecycleHookName: "launch", InstanceId: "i-0ccc" }));
    expect(emu.state.action("i-0ccc")?.deadline).toBe(action.startedAt + 50_000); // min(now + 30 s, global)
    now += 24_999;
    expect(emu.state.action("i-0ccc")?.status).toBe("pending");
    now += 1;
    expect(emu.state.action("i-0ccc")).toMatchObject({ status: "expired", result: "CONTINUE", endedBy: "global-timeout" });
    expect(emu.state.completions()).toEqual([expect.objectContaining({ instanceId: "i-0ccc", result: "CONTINUE", via: "global-timeout" })]);
    const late = await rejection(as.send(complete({ AutoScalingGroupName: "short", InstanceId: "i-0ccc" })));
    expect(late.message).toBe("No active Lifecycle Action found with instance ID i-0ccc");

    emu.state.startLifecycleAction("i-0ccc", { warmed: true });
    expect(emu.state.instance("i-0ccc")?.lifecycleState).toBe("Warmed:Pending:Wait");
    now += 30_000;
    expect(emu.state.action("i-0ccc")).toMatchObject({ status: "expired", endedBy: "heartbeat-timeout" });
    expect(emu.state.instance("i-0ccc")?.lifecycleState).toBe("Warmed:Stopped");
  });

  it("rejects a request missing a required parameter with Auto Scaling's ValidationError", async () => {
    const { as, emu } = await start();
    emu.state.startLifecycleAction("i-0aaa");
    const missing = await rejection(as.send(complete({ LifecycleHookName: undefined })));
    expect(missing).toEqual({
      name: "ValidationError",
      status: 400,
      message: "1 validation error detected: Value null at 'lifecycleHookName' failed to satisfy constraint: Member must not be null",
    });
    const neither = await rejection(as.send(complete({ InstanceId: undefined })));
    expect(neither.message).toMatch(/Either InstanceId or LifecycleActionToken/);
    const badResult = await rejection(as.send(complete({ LifecycleActionResult: "MAYBE" })));
    expect(badResult.name).toBe("ValidationError");
    expect(emu.state.action("i-0aaa")?.status).toBe("pending");
  });

  it("checks signatures: wrong secret, unknown key", async () => {
    const { emu } = await start();
    const client = (secretAccessKey: string, accessKeyId = CREDS.accessKeyId) =>
      new AutoScalingClient({ endpoint: emu.url, region: "us-east-1", credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    const wrong = await rejection(client("not-the-secret").send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" })));
    expect(wrong).toMatchObject({ name: "SignatureDoesNotMatch", status: 403 });
    const unknown = await rejection(client("x", "AKIDUNKNOWN").send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" })));
    expect(unknown).toMatchObject({ name: "InvalidClientTokenId", status: 403 });
    const ec2 = new EC2Client({ endpoint: emu.url, region: "us-east-1", credentials: { ...CREDS, secretAccessKey: "nope" }, maxAttempts: 1 });
    expect(await rejection(ec2.send(new DescribeTagsCommand({})))).toMatchObject({ name: "AuthFailure", status: 401 });
  });

  describe("raw requests", () => {
    const form = "Action=DescribeLifecycleHooks&Version=2011-01-01&AutoScalingGroupName=web";
    const post = (emu: AwsEmulator, body: string, headers: Record<string, string>) => fetch(`${emu.url}/`, { method: "POST", body, headers });
    const fakeAuth = (service: string) => ({
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDSHAPEONLY/20250101/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"a".repeat(64)}`,
      "x-amz-date": "20250101T000000Z",
    });

    it("refuses an unsigned request the way each service does", async () => {
      const { emu } = await start();
      const res = await post(emu, form, { "content-type": "application/x-www-form-urlencoded" });
      expect(res.status).toBe(403);
      const body = await res.text();
      expect(body).toMatch(/^<ErrorResponse xmlns="http:\/\/autoscaling\.amazonaws\.com\/doc\/2011-01-01\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code><Message>Request is missing Authentication Token<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/);
      const ec2 = await post(emu, "Action=DescribeTags&Version=2016-11-15", { "content-type": "application/x-www-form-urlencoded" });
      expect(ec2.status).toBe(400);
      expect(await ec2.text()).toMatch(/<Response><Errors><Error><Code>MissingParameter<\/Code><Message>The request must contain the parameter AWSAccessKeyId<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
      expect(emu.state.requests().map((r) => r.errorCode)).toEqual(["MissingAuthenticationToken", "MissingParameter"]);
    });

    it("refuses an incomplete signature, a wrong content type, an unknown action and a wrong version", async () => {
      // No `credentials` option: signatures are checked for shape only.
      emulator = await startAwsEmulator({ groups: [GROUP] });
      const emu = emulator;
      const formType = { "content-type": "application/x-www-form-urlencoded" };
      const noSignature = await post(emu, form, { ...formType, authorization: "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/autoscaling/aws4_request, SignedHeaders=host", "x-amz-date": "20250101T000000Z" });
      expect([noSignature.status, await noSignature.text()]).toEqual([400, expect.stringContaining("<Code>IncompleteSignature</Code>")]);
      const json = await post(emu, JSON.stringify({ Action: "DescribeLifecycleHooks" }), { ...fakeAuth("autoscaling"), "content-type": "application/json" });
      expect([json.status, await json.text()]).toEqual([400, expect.stringContaining("must be application/x-www-form-urlencoded")]);
      const unknown = await post(emu, "Action=LaunchRockets&Version=2011-01-01", { ...fakeAuth("autoscaling"), ...formType });
      expect(await unknown.text()).toContain("<Code>InvalidAction</Code><Message>Could not find operation LaunchRockets for version 2011-01-01</Message>");
      const version = await post(emu, "Action=DescribeLifecycleHooks&Version=2010-08-01&AutoScalingGroupName=web", { ...fakeAuth("autoscaling"), ...formType });
      expect(await version.text()).toContain("<Code>NoSuchVersion</Code>");
      const scope = await post(emu, form, { ...fakeAuth("ec2"), ...formType });
      expect([scope.status, await scope.text()]).toEqual([403, expect.stringContaining("Credential should be scoped to correct service: 'autoscaling'.")]);
      const ok = await post(emu, form, { ...fakeAuth("autoscaling"), ...formType });
      expect([ok.status, await ok.text()]).toEqual([200, expect.stringContaining("<LifecycleHookName>launch</LifecycleHookName>")]);
    });
  });

  describe("fault injection", () => {
    it("answers each fault kind with the code and status the SDK sees from AWS", async () => {
      const { emu, as, ec2 } = await start();
      const cases = [
        ["throttling", "Throttling", 400, "RequestLimitExceeded", 503],
        ["resource-contention", "ResourceContentionFault", 500, "InternalError", 500],
        ["unavailable", "ServiceUnavailable", 503, "Unavailable", 503],
        ["bare-503", "Unknown", 503, "Unknown", 503],
        ["access-denied", "AccessDenied", 403, "UnauthorizedOperation", 403],
      ] as const;
      for (const [kind, asName, asStatus, ec2Name, ec2Status] of cases) {
        const fault = emu.state.injectFault({ kind, actions: ["DescribeLifecycleHooks", "DescribeTags"], times: 2 });
        expect(await rejection(as.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" })))).toMatchObject({ name: asName, status: asStatus });
        expect(await rejection(ec2.send(new DescribeTagsCommand({})))).toMatchObject({ name: ec2Name, status: ec2Status });
        expect(fault.remaining()).toBe(0);
      }
      const denied = emu.state.requests("DescribeLifecycleHooks").at(-1);
      expect(denied?.errorCode).toBe("AccessDenied");
      await expect(as.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" }))).resolves.toBeDefined();
    });

    it("limits the request rate with a token bucket per action", async () => {
      let now = Date.UTC(2025, 0, 1);
      const { emu, as } = await start({ clock: { now: () => now }, rateLimit: { ratePerSecond: 2, burst: 3 } });
      const describe = () => as.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: "web" }));
      for (let i = 0; i < 3; i++) await describe();
      expect(await rejection(describe())).toMatchObject({ name: "Throttling", message: "Rate exceeded", status: 400 });
      await as.send(new DescribeAutoScalingInstancesCommand({})); // another action, another bucket
      now += 500; // one token back at 2 per second
      await describe();
      expect(await rejection(describe())).toMatchObject({ name: "Throttling" });
      expect(emu.state.requests("DescribeLifecycleHooks").map((r) => r.status)).toEqual([200, 200, 200, 400, 200, 400]);
    });
  });
});
