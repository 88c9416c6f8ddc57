import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { classifyFailure } from "../../agent/lifecycle/api.js";
import { createSdkLifecycleApi } from "../../agent/lifecycle/sdk.js";
import { CREDENTIALS, REGION } from "./helpers.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("SDK clients", () => {
  it("end a call that gets no answer at the request timeout, as a retryable network failure", async () => {
    // Accepts the connection and the request, never answers.
    server = createServer(() => {});
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    const api = createSdkLifecycleApi({ region: REGION, endpoint: `http://127.0.0.1:${port}`, credentials: CREDENTIALS, requestTimeoutMs: 200 });
    const error = await api.recordHeartbeat({ group: "web", hook: "launch", instanceId: "i-0aaa" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "TimeoutError" });
    expect(classifyFailure(error)).toMatchObject({ kind: "network", retryable: true });
  });
});
