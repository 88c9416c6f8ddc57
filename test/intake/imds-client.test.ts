import { afterEach, describe, expect, it } from "vitest";
import { systemClock, type Clock } from "../../agent/clock.js";
import { ErrorCode, SettingsError } from "../../agent/errors.js";
import { ImdsClient, type ImdsClientOptions } from "../../agent/intake/imds-client.js";
import { ImdsDisabledError, ImdsProtocolError, ImdsUnreachableError } from "../../agent/intake/imds-errors.js";
import { createLogger, silentLogger } from "../../agent/log/logger.js";
import { startImdsEmulator, type ImdsEmulator, type ImdsEmulatorOptions } from "../emulator/imds/index.js";

const INSTANCE_ID = "/latest/meta-data/instance-id";
const TOKEN = "/latest/api/token";

/** Real time plus an offset tests can push forward (token expiry); sleeps are real. */
function shiftableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, sleep: systemClock.sleep, advance: (ms) => (offset += ms) };
}

const emulators: ImdsEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

async function emulator(options: ImdsEmulatorOptions = {}): Promise<ImdsEmulator> {
  const started = await startImdsEmulator(options);
  emulators.push(started);
  return started;
}

function client(imds: { url: string }, options: Partial<ImdsClientOptions> = {}): ImdsClient {
  return new ImdsClient({
    endpoint: imds.url,
    requestTimeoutMs: 1_000,
    budgetMs: 10_000,
    clock: systemClock,
    logger: silentLogger(),
    backoffBaseMs: 10,
    backoffCapMs: 50,
    ...options,
  });
}

describe("ImdsClient: token", () => {
  it("fetches one token and reuses it across calls", async () => {
    const imds = await emulator();
    const c = client(imds);
    expect(await c.getInstanceId()).toBe("i-0123456789abcdef0");
    expect(await c.getRegion()).toBe("eu-west-1");
    expect(await c.getInstanceId()).toBe("i-0123456789abcdef0");
    expect(imds.count({ method: "PUT", path: TOKEN })).toBe(1);
    expect(imds.count({ method: "GET" })).toBe(3);
    expect(c.stats()).toEqual({ requests: 4, tokenRequests: 1 });
  });

  it("asks for the configured TTL", async () => {
    const imds = await emulator();
    await client(imds, { tokenTtlSeconds: 300 }).getRegion();
    expect(imds.count({ method: "PUT", status: 200 })).toBe(1);
  });

  it("refreshes the token shortly before it expires", async () => {
    const clock = shiftableClock();
    const imds = await emulator({ now: clock.now });
    const c = client(imds, { clock, tokenTtlSeconds: 600 });
    await c.getInstanceId();
    clock.advance(500_000); // 100 s left: outside the refresh margin (min(60 s, ttl/4))
    await c.getInstanceId();
    expect(imds.count({ method: "PUT" })).toBe(1);
    clock.advance(60_000); // 40 s left: inside the margin
    await c.getInstanceId();
    expect(imds.count({ method: "PUT" })).toBe(2);
    expect(imds.count({ status: 401 })).toBe(0);
  });

  it("on 401 fetches a new token once and retries the GET", async () => {
    const imds = await emulator();
    const c = client(imds);
    await c.getInstanceId();
    imds.revokeTokens();
    expect(await c.getInstanceId()).toBe("i-0123456789abcdef0");
    expect(imds.count({ method: "PUT" })).toBe(2);
    expect(imds.count({ path: INSTANCE_ID, status: 401 })).toBe(1);
    expect(imds.count({ path: INSTANCE_ID, status: 200 })).toBe(2);
  });

  it("gets a new token when IMDS expired it before the client expected", async () => {
    const emulatorClock = shiftableClock();
    const imds = await emulator({ now: emulatorClock.now });
    const c = client(imds);
    await c.getInstanceId();
    emulatorClock.advance(21_600_000);
    expect(await c.getRegion()).toBe("eu-west-1");
    expect(imds.count({ method: "PUT" })).toBe(2);
  });

  it("fails with ImdsProtocolError when a fresh token is rejected too", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 2, response: 401, path: INSTANCE_ID });
    const error = await client(imds).getInstanceId().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImdsProtocolError);
    expect((error as ImdsProtocolError).code).toBe(ErrorCode.ImdsProtocol);
    expect(imds.count({ method: "PUT" })).toBe(2);
    expect(imds.count({ path: INSTANCE_ID })).toBe(2);
  });

  it("fails at once with ImdsDisabledError on 403, without retrying", async () => {
    const imds = await emulator({ state: { disabled: true } });
    const c = client(imds);
    const error = await c.getUserdata().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImdsDisabledError);
    expect((error as ImdsDisabledError).message).toContain("HttpEndpoint=disabled");
    expect((error as ImdsDisabledError).hint).toContain("aws ec2 modify-instance-metadata-options");
    expect(imds.count()).toBe(1);
    expect(c.stats().requests).toBe(1);
  });

  it("maps a 400 on the token request to ImdsProtocolError, without retrying", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 1, response: 400, path: TOKEN });
    await expect(client(imds).getRegion()).rejects.toBeInstanceOf(ImdsProtocolError);
    expect(imds.count()).toBe(1);
  });
});

describe("ImdsClient: values", () => {
  it("returns userdata bytes exactly, and null when there is none", async () => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0x0a, 0x0d, 0x80]);
    const imds = await emulator({ state: { userdata: bytes } });
    const c = client(imds);
    expect((await c.getUserdata())?.equals(bytes)).toBe(true);
    imds.state.userdata = null;
    expect(await c.getUserdata()).toBeNull();
    expect(imds.count({ path: "/latest/user-data", status: 404 })).toBe(1);
  });

  it("returns null for the group tag when tags in metadata are off", async () => {
    const imds = await emulator();
    const c = client(imds);
    expect(await c.getAutoScalingGroupTag()).toBe("nixboot-fleet");
    imds.state.tagsEnabled = false;
    expect(await c.getAutoScalingGroupTag()).toBeNull();
  });

  it("returns the target lifecycle state, null when unset", async () => {
    const imds = await emulator({ state: { targetLifecycleState: "Warmed:Stopped" } });
    const c = client(imds);
    expect(await c.getTargetLifecycleState()).toBe("Warmed:Stopped");
    imds.state.targetLifecycleState = null;
    expect(await c.getTargetLifecycleState()).toBeNull();
  });

  it("reads the identity with one token and three GETs (the identity document has id and region)", async () => {
    const imds = await emulator({ state: { autoScalingGroupName: null, targetLifecycleState: "Warmed:Stopped" } });
    const c = client(imds);
    expect(await c.getIdentity()).toEqual({
      instanceId: "i-0123456789abcdef0",
      region: "eu-west-1",
      groupName: null,
      targetLifecycleState: "Warmed:Stopped",
    });
    expect(imds.count({ method: "PUT" })).toBe(1);
    expect(imds.count({ method: "GET" })).toBe(3);
    expect(imds.count({ path: "/latest/dynamic/instance-identity/document" })).toBe(1);
    expect(c.stats().requests).toBe(4);
  });

  it("reads any path with get(), null on 404", async () => {
    const imds = await emulator();
    const c = client(imds);
    const document = JSON.parse(String(await c.get("/latest/dynamic/instance-identity/document"))) as Record<string, unknown>;
    expect(document).toMatchObject({ region: "eu-west-1", instanceId: "i-0123456789abcdef0", accountId: "123456789012" });
    expect(await c.get("/latest/meta-data/nothing-here")).toBeNull();
  });

  it("fails with ImdsProtocolError when a category every instance has is missing", async () => {
    const imds = await emulator({ state: { instanceId: "" } });
    await expect(client(imds).getInstanceId()).rejects.toBeInstanceOf(ImdsProtocolError);
  });
});

describe("ImdsClient: retries and budget", () => {
  it("waits out refused connections while the network comes up", async () => {
    const imds = await emulator({ refuseConnectionsForMs: 300 });
    const c = client(imds);
    expect(await c.getInstanceId()).toBe("i-0123456789abcdef0");
    // The refused attempts never reached the emulator.
    expect(c.stats().tokenRequests).toBeGreaterThan(1);
    expect(imds.count({ method: "PUT" })).toBe(1);
  });

  it("survives bursts of 500 and 429", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 3, response: 500, path: TOKEN }, { count: 2, response: 429, path: INSTANCE_ID });
    expect(await client(imds).getInstanceId()).toBe("i-0123456789abcdef0");
    expect(imds.count({ method: "PUT" })).toBe(4);
    expect(imds.count({ path: INSTANCE_ID })).toBe(3);
  });

  it("retries a truncated body", async () => {
    const bytes = Buffer.from("{ ... }: { services.nginx.enable = true; }\n".repeat(50));
    const imds = await emulator({ state: { userdata: bytes } });
    imds.state.faults.bursts.push({ count: 1, response: "truncate", path: "/latest/user-data" });
    expect((await client(imds).getUserdata())?.equals(bytes)).toBe(true);
    expect(imds.count({ path: "/latest/user-data" })).toBe(2);
  });

  it("retries a reset connection", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 2, response: "reset", path: INSTANCE_ID });
    expect(await client(imds).getInstanceId()).toBe("i-0123456789abcdef0");
    expect(imds.count({ path: INSTANCE_ID })).toBe(3);
  });

  it("retries a request that outlives the per-request timeout", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: 2, response: "hang", path: INSTANCE_ID });
    expect(await client(imds, { requestTimeoutMs: 100 }).getInstanceId()).toBe("i-0123456789abcdef0");
    expect(imds.count({ path: INSTANCE_ID })).toBe(3);
  });

  it("answers through a fixed per-request delay below the timeout", async () => {
    const imds = await emulator();
    imds.state.faults.delayMs = 30;
    expect(await client(imds).getRegion()).toBe("eu-west-1");
    expect(imds.count()).toBe(2);
  });

  it("gives up with ImdsUnreachableError when the budget runs out", async () => {
    const imds = await emulator();
    imds.state.faults.bursts.push({ count: Number.MAX_SAFE_INTEGER, response: 503 });
    const c = client(imds, { budgetMs: 300 });
    const error = await c.getUserdata().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImdsUnreachableError);
    const unreachable = error as ImdsUnreachableError;
    expect(unreachable.code).toBe(ErrorCode.ImdsUnreachable);
    expect(unreachable.message).toMatch(/\d+ attempt\(s\) over [\d.]+ s; last error: HTTP 503/);
    expect(unreachable.hint).toContain("--imds-budget");
    expect(unreachable.details["attempts"]).toBe(imds.count());
    expect(imds.count()).toBeGreaterThan(1);
  });

  it("gives up with ImdsUnreachableError when nothing listens", async () => {
    const imds = await emulator();
    await imds.close();
    const error = await client(imds, { budgetMs: 200 }).getRegion().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImdsUnreachableError);
    expect((error as ImdsUnreachableError).message).toContain("ECONNREFUSED");
    // The cause keeps the code, not got's options (which hold request headers).
    expect((error as ImdsUnreachableError).cause).toHaveProperty("code", "ECONNREFUSED");
    expect((error as ImdsUnreachableError).cause).not.toHaveProperty("options");
  });
});

describe("ImdsClient: settings and logs", () => {
  it("accepts the IPv6 endpoint form and refuses non-http endpoints", () => {
    expect(client({ url: "http://[fd00:ec2::254]" }).endpoint).toBe("http://[fd00:ec2::254]");
    expect(client({ url: "http://169.254.169.254/" }).endpoint).toBe("http://169.254.169.254");
    for (const endpoint of ["169.254.169.254", "ftp://169.254.169.254", "http://169.254.169.254/latest", "http://u:p@169.254.169.254"]) {
      expect(() => client({ url: endpoint }), endpoint).toThrow(SettingsError);
    }
  });

  it("refuses bad numbers and unknown options", () => {
    const imds = { url: "http://169.254.169.254" };
    expect(() => client(imds, { tokenTtlSeconds: 21_601 })).toThrow(/tokenTtlSeconds/);
    expect(() => client(imds, { tokenTtlSeconds: 0 })).toThrow(SettingsError);
    expect(() => client(imds, { requestTimeoutMs: -1 })).toThrow(/requestTimeoutMs/);
    expect(() => client(imds, { retries: 3 } as Partial<ImdsClientOptions>)).toThrow(/unknown IMDS client option "retries"/);
  });

  it("talks to an IPv6 endpoint", async (context) => {
    const imds = await startImdsEmulator({ host: "::1" }).catch(() => null);
    if (imds === null) {
      context.skip();
      return;
    }
    emulators.push(imds);
    expect(imds.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect(await client(imds).getInstanceId()).toBe("i-0123456789abcdef0");
  });

  it("never logs userdata or the token", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "trace", destination: { write: (line: string) => void lines.push(line) } });
    const imds = await emulator({ state: { userdata: Buffer.from("secret-userdata-body") } });
    imds.state.faults.bursts.push({ count: 1, response: 500, path: "/latest/user-data" });
    await client(imds, { logger }).getUserdata();
    const log = lines.join("");
    expect(lines.length).toBeGreaterThan(2);
    expect(log).not.toContain("secret-userdata-body");
    expect(log).not.toContain("AQAEA");
    expect(log).toContain('"bytes":20');
  });
});
