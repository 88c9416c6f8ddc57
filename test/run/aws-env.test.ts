import { describe, expect, it } from "vitest";
import { sdkOptionsFromEnv } from "../../agent/run/aws-env.js";

describe("sdkOptionsFromEnv", () => {
  it("takes per-service endpoints over the global one, and static keys only as a pair", () => {
    expect(
      sdkOptionsFromEnv({
        AWS_ENDPOINT_URL: "http://global:1",
        AWS_ENDPOINT_URL_AUTO_SCALING: "http://autoscaling:2",
        AWS_ACCESS_KEY_ID: "AKID",
        AWS_SECRET_ACCESS_KEY: "secret",
        AWS_SESSION_TOKEN: "token",
      }),
    ).toEqual({
      endpoints: { autoScaling: "http://autoscaling:2", ec2: "http://global:1" },
      credentials: { accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token" },
    });
    expect(sdkOptionsFromEnv({ AWS_ENDPOINT_URL_EC2: "http://ec2:3", AWS_ACCESS_KEY_ID: "AKID" })).toEqual({ endpoints: { ec2: "http://ec2:3" } });
  });

  it("leaves everything to the SDK when the environment names nothing, or endpoints are to be ignored", () => {
    expect(sdkOptionsFromEnv({ PATH: "/bin", AWS_ENDPOINT_URL_EC2: "  " })).toBeUndefined();
    expect(sdkOptionsFromEnv({ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true", AWS_ENDPOINT_URL: "http://global:1" })).toBeUndefined();
  });
});
