import { afterEach, describe, expect, it } from "vitest";
import { startImdsEmulator, type ImdsEmulator, type ImdsEmulatorOptions } from "./imds/index.js";

const TTL = "X-aws-ec2-metadata-token-ttl-seconds";

const emulators: ImdsEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

async function emulator(options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const started = await startImdsEmulator(options);
  emulators.push(started);
  return started;
}

async function token(imds: ImdsEmulator, ttl = "21600"): Promise<string> {
  const response = await fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: ttl } });
  expect(response.status).toBe(200);
  return response.text();
}

async function get(imds: ImdsEmulator, path: string, withToken?: string): Promise<Response> {
  return fetch(`${imds.url}${path}`, { headers: withToken === undefined ? {} : { "X-aws-ec2-metadata-token": withToken } });
}

describe("IMDS emulator: token", () => {
  it("issues a token and echoes its TTL", async () => {
    const imds = await emulator();
    const response = await fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: "300" } });
    expect(response.status).toBe(200);
    expect(response.headers.get(TTL)).toBe("300");
    expect(response.headers.get("server")).toBe("EC2ws");
    expect((await response.text()).length).toBeGreaterThan(40);
  });

  it.each([["0"], ["21601"], ["abc"], ["1.5"], ["-1"], [""]])("answers 400 to TTL %j", async (ttl) => {
    const imds = await emulator();
    const response = await fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: ttl } });
    expect(response.status).toBe(400);
  });

  it("answers 400 when the TTL header is missing", async () => {
    const imds = await emulator();
    expect((await fetch(`${imds.url}/latest/api/token`, { method: "PUT" })).status).toBe(400);
  });

  it("answers 403 to a token request carrying X-Forwarded-For", async () => {
    const imds = await emulator();
    const response = await fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: "60", "X-Forwarded-For": "10.0.0.9" } });
    expect(response.status).toBe(403);
  });

  it("answers 403 to everything when IMDS is disabled", async () => {
    const imds = await emulator({ state: { disabled: true } });
    expect((await fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: "60" } })).status).toBe(403);
    expect((await get(imds, "/latest/meta-data/instance-id")).status).toBe(403);
  });

  it("refuses GETs without a token (IMDSv1), with an unknown one or an expired one", async () => {
    let now = 1_700_000_000_000;
    const imds = await emulator({ now: () => now });
    expect((await get(imds, "/latest/meta-data/instance-id")).status).toBe(401);
    expect((await get(imds, "/latest/meta-data/instance-id", "not-a-token")).status).toBe(401);
    const valid = await token(imds, "60");
    expect((await get(imds, "/latest/meta-data/instance-id", valid)).status).toBe(200);
    now += 60_000;
    const expired = await get(imds, "/latest/meta-data/instance-id", valid);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain("<title>401 - Unauthorized</title>");
  });
});

describe("IMDS emulator: metadata", () => {
  it("serves the categories the agent and the AWS SDK read", async () => {
    const imds = await emulator({ state: { targetLifecycleState: "Warmed:Stopped" } });
    const t = await token(imds);
    const text = async (path: string): Promise<string> => (await get(imds, path, t)).text();
    expect(await text("/latest/meta-data/instance-id")).toBe("i-0123456789abcdef0");
    expect(await text("/latest/meta-data/placement/region")).toBe("eu-west-1");
    expect(await text("/latest/meta-data/tags/instance/aws:autoscaling:groupName")).toBe("nixboot-fleet");
    expect(await text("/latest/meta-data/autoscaling/target-lifecycle-state")).toBe("Warmed:Stopped");
    expect(await text("/latest/meta-data/iam/security-credentials/")).toBe("nixboot-instance");
    const credentials = JSON.parse(await text("/latest/meta-data/iam/security-credentials/nixboot-instance")) as Record<string, string>;
    expect(Object.keys(credentials).sort()).toEqual(["AccessKeyId", "Code", "Expiration", "LastUpdated", "SecretAccessKey", "Token", "Type"]);
    expect(credentials).toMatchObject({ Code: "Success", Type: "AWS-HMAC" });
    expect(Date.parse(credentials["Expiration"] ?? "")).toBeGreaterThan(Date.now());
    expect(JSON.parse(await text("/latest/meta-data/iam/info"))).toMatchObject({ Code: "Success", InstanceProfileArn: expect.stringContaining(":instance-profile/") });
    expect(JSON.parse(await text("/latest/dynamic/instance-identity/document"))).toMatchObject({ region: "eu-west-1", instanceId: "i-0123456789abcdef0", accountId: "123456789012" });
    expect((await text("/latest/meta-data/")).split("\n")).toEqual(expect.arrayContaining(["instance-id", "placement/", "iam/", "tags/"]));
  });

  it("serves userdata bytes exactly, 404 when there is none", async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x1f, 0x8b, 0x0d, 0x0a]);
    const imds = await emulator({ state: { userdata: bytes } });
    const t = await token(imds);
    expect(Buffer.from(await (await get(imds, "/latest/user-data", t)).arrayBuffer()).equals(bytes)).toBe(true);
    imds.state.userdata = null;
    expect((await get(imds, "/latest/user-data", t)).status).toBe(404);
  });

  it("answers 404 with the XHTML page for unknown paths, disabled tags, no tag, no lifecycle state", async () => {
    const imds = await emulator();
    const t = await token(imds);
    const missing = await get(imds, "/latest/meta-data/no-such-category", t);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("text/html");
    expect(await missing.text()).toContain("<h1>404 - Not Found</h1>");
    const tag = "/latest/meta-data/tags/instance/aws:autoscaling:groupName";
    imds.state.tagsEnabled = false;
    expect((await get(imds, tag, t)).status).toBe(404);
    imds.state.tagsEnabled = true;
    imds.state.autoScalingGroupName = null;
    expect((await get(imds, tag, t)).status).toBe(404);
    imds.state.targetLifecycleState = null;
    expect((await get(imds, "/latest/meta-data/autoscaling/target-lifecycle-state", t)).status).toBe(404);
  });
});

describe("IMDS emulator: faults and the request log", () => {
  it("answers a burst with the scripted status, then normally, and logs every request", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 2, response: 503, path: "/latest/api/token" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: "60" } })).status);
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(imds.state.requests.map((r) => [r.method, r.path, r.status, r.fault])).toEqual([
      ["PUT", "/latest/api/token", 503, "burst"],
      ["PUT", "/latest/api/token", 503, "burst"],
      ["PUT", "/latest/api/token", 200, undefined],
    ]);
    expect(imds.count({ status: 503 })).toBe(2);
  });

  it("truncates a body for real: the client sees the connection end early", async () => {
    const imds = await emulator({ state: { userdata: Buffer.alloc(4096, 0x61) } });
    const t = await token(imds);
    imds.state.faults.bursts.push({ count: 1, response: "truncate", path: "/latest/user-data" });
    const response = await get(imds, "/latest/user-data", t);
    expect(response.headers.get("content-length")).toBe("4096");
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it("resets a connection without answering", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 1, response: "reset" });
    await expect(fetch(`${imds.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: "60" } })).rejects.toThrow();
    expect(imds.count({ status: null })).toBe(1);
  });

  it("refuses TCP connections while told to, then listens on the same port again", async () => {
    const imds = await emulator({ refuseConnectionsForMs: 60_000 });
    const error = await fetch(`${imds.url}/latest/api/token`, { method: "PUT" }).catch((e: unknown) => e);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
    expect(imds.count()).toBe(0);
    const again = await emulator({ refuseConnectionsForMs: 1 });
    let status = 0;
    while (status === 0) status = await fetch(`${again.url}/latest/api/token`, { method: "PUT", headers: { [TTL]: "60" } }).then((r) => r.status, () => 0);
    expect(status).toBe(200);
  });
});
