import { EC2Client } from "@aws-sdk/client-ec2";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { classifyFailure } from "../../agent/lifecycle/api.js";
import { configuredEndpointSelectors, realRegion, regionalEc2Endpoint, resolveEc2Endpoint } from "../../agent/lifecycle/ec2-endpoint.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nixboot-ec2-endpoint-"));
  // Only what each test sets: no shared config file, no endpoint or FIPS variables from the machine.
  vi.stubEnv("AWS_CONFIG_FILE", join(dir, "config"));
  vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", join(dir, "credentials"));
  vi.stubEnv("AWS_PROFILE", undefined);
  for (const name of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"]) vi.stubEnv(name, undefined);
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

const resolved = async (options: { region: string; endpoint?: string }) => (await resolveEc2Endpoint(options)).url.href;

describe("EC2 endpoint resolution", () => {
  it("gives the regional endpoint the SDK's EC2 rule set gives, in every partition, with FIPS and dual-stack", () => {
    const { endpointProvider } = new EC2Client({ region: "us-east-1" }).config;
    const regions = ["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1", "xx-future-9"];
    for (const region of regions) {
      for (const useFips of [false, true]) {
        for (const useDualStack of [false, true]) {
          const sdk = endpointProvider({ Region: region, UseFIPS: useFips, UseDualStack: useDualStack }).url.href;
          expect(new URL(regionalEc2Endpoint(region, { useFips, useDualStack })).href, `${region} fips=${useFips} dualstack=${useDualStack}`).toBe(sdk);
        }
      }
    }
  });

  it("defaults to https://ec2.<region>.<partition suffix>, FIPS from a pseudo-region or AWS_USE_FIPS_ENDPOINT", async () => {
    await expect(resolved({ region: "eu-west-1" })).resolves.toBe("https://ec2.eu-west-1.amazonaws.com/");
    await expect(resolved({ region: "cn-northwest-1" })).resolves.toBe("https://ec2.cn-northwest-1.amazonaws.com.cn/");
    await expect(resolveEc2Endpoint({ region: "fips-us-east-2" })).resolves.toEqual({ url: new URL("https://ec2-fips.us-east-2.amazonaws.com"), signingRegion: "us-east-2" });
    vi.stubEnv("AWS_USE_DUALSTACK_ENDPOINT", "true");
    await expect(resolved({ region: "eu-west-1" })).resolves.toBe("https://ec2.eu-west-1.api.aws/");
    vi.stubEnv("AWS_USE_FIPS_ENDPOINT", "true");
    await expect(resolved({ region: "us-west-2" })).resolves.toBe("https://ec2-fips.us-west-2.api.aws/");
  });

  it("follows the SDK's precedence: option, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, the profile's services section, its endpoint_url", async () => {
    await writeFile(join(dir, "config"), "[default]\nendpoint_url = http://profile.test\nservices = local\n\n[services local]\nec2 =\n  endpoint_url = http://services.test:4566\n");
    await expect(resolved({ region: "us-east-1" })).resolves.toBe("http://services.test:4566/");
    vi.stubEnv("AWS_ENDPOINT_URL", "http://global.test");
    await expect(resolved({ region: "us-east-1" })).resolves.toBe("http://global.test/");
    vi.stubEnv("AWS_ENDPOINT_URL_EC2", "http://ec2.test:8080");
    await expect(resolved({ region: "us-east-1" })).resolves.toBe("http://ec2.test:8080/");
    await expect(resolved({ region: "us-east-1", endpoint: "http://option.test" })).resolves.toBe("http://option.test/");
    vi.stubEnv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
    await expect(resolved({ region: "us-east-1" })).resolves.toBe("https://ec2.us-east-1.amazonaws.com/");
    await expect(resolved({ region: "us-east-1", endpoint: "http://option.test" })).resolves.toBe("http://option.test/");

    expect(configuredEndpointSelectors.configFileSelector({ endpoint_url: "http://p.test" })).toBe("http://p.test");
    expect(() => configuredEndpointSelectors.configFileSelector({ services: "gone" }, {})).toThrow(/services section "gone"/);
  });

  it("refuses what the SDK refuses, as errors that classify as the SDK's did", async () => {
    vi.stubEnv("AWS_USE_FIPS_ENDPOINT", "true");
    const fipsCustom = await resolveEc2Endpoint({ region: "us-east-1", endpoint: "http://option.test" }).catch((e: unknown) => e);
    expect(fipsCustom).toMatchObject({ name: "EndpointError", message: "Invalid Configuration: FIPS and custom endpoint are not supported" });
    expect(classifyFailure(fipsCustom)).toMatchObject({ kind: "network", retryable: true });
    vi.stubEnv("AWS_USE_FIPS_ENDPOINT", "false");
    vi.stubEnv("AWS_USE_DUALSTACK_ENDPOINT", "true");
    vi.stubEnv("AWS_ENDPOINT_URL_EC2", "http://ec2.test");
    await expect(resolveEc2Endpoint({ region: "us-east-1" })).rejects.toThrow("Invalid Configuration: Dualstack and custom endpoint are not supported");
    expect(() => realRegion("us-east-1/../x")).toThrow(/Region not accepted/);
    expect(realRegion("us-west-2-fips")).toEqual({ region: "us-west-2", fips: true });
  });
});
