import { partition } from "@aws-sdk/core/client";
import { CONFIG_PREFIX_SEPARATOR, loadConfig, NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS, NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS } from "@smithy/core/config";

/**
 * Where EC2 calls go, resolved as the AWS SDK's EC2 client (3.1169) resolves
 * it, with the SDK's own config loaders (environment first, then the shared
 * config files `~/.aws/config`, as the SDK reads them):
 *
 * 1. the `endpoint` option (nixboot passes `AWS_ENDPOINT_URL_EC2` /
 *    `AWS_ENDPOINT_URL` from the CLI's environment this way, agent/run/aws-env.ts);
 * 2. unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or
 *    `ignore_configured_endpoint_urls = true` in the profile):
 *    env `AWS_ENDPOINT_URL_EC2`, env `AWS_ENDPOINT_URL`, the profile's
 *    `services` section `ec2 = endpoint_url = …`, the profile's `endpoint_url`
 *    (@smithy/core getEndpointUrlConfig, service ID "EC2");
 * 3. the regional endpoint by the EC2 endpoint rule set, with the region's
 *    partition (`amazonaws.com`, `amazonaws.com.cn`, …) and the FIPS /
 *    dual-stack switches (`AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`
 *    or `use_fips_endpoint` / `use_dualstack_endpoint`).
 *
 * A FIPS pseudo-region (`fips-us-east-1`, `us-east-1-fips`) turns FIPS on and
 * signs for the real region, as the SDK's resolveRegionConfig does. The rule
 * set's configuration errors (FIPS with a custom endpoint, …) are thrown as the
 * SDK throws them (`EndpointError`), so they classify as they did.
 */

export interface Ec2Endpoint {
  url: URL;
  /** The region the request is signed for. */
  signingRegion: string;
}

export interface EndpointSwitches {
  useFips: boolean;
  useDualStack: boolean;
}

const SERVICE_ENV = "AWS_ENDPOINT_URL_EC2";
const GLOBAL_ENV = "AWS_ENDPOINT_URL";
const IGNORE_ENV = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";
const IGNORE_CONFIG = "ignore_configured_endpoint_urls";
const ENDPOINT_CONFIG = "endpoint_url";

/** The rule set's errors, named as @smithy/core's EndpointError. */
export function endpointError(message: string): Error {
  const error = new Error(message);
  error.name = "EndpointError";
  return error;
}

type Section = Record<string, string | undefined>;

/** The SDK's "true"/"false" switch reading (booleanSelector): anything else is an error. */
function flag(values: Section, key: string, where: string): boolean | undefined {
  if (!(key in values)) return undefined;
  if (values[key] === "true") return true;
  if (values[key] === "false") return false;
  throw new Error(`Cannot load ${where} "${key}". Expected "true" or "false", got ${values[key]}.`);
}

/** Selectors of a configured EC2 endpoint URL, as @smithy/core's getEndpointUrlConfig("EC2"). */
export const configuredEndpointSelectors = {
  environmentVariableSelector: (env: Section): string | undefined => env[SERVICE_ENV] || env[GLOBAL_ENV] || undefined,
  configFileSelector: (profile: Section, config?: Record<string, Section>): string | undefined => {
    if (profile.services) {
      const section = config?.[["services", profile.services].join(CONFIG_PREFIX_SEPARATOR)];
      if (!section) throw new Error(`The services section "${profile.services}" specified in the profile is not present in the shared configuration file.`);
      const url = section[["ec2", ENDPOINT_CONFIG].join(CONFIG_PREFIX_SEPARATOR)];
      if (url) return url;
    }
    return profile[ENDPOINT_CONFIG] || undefined;
  },
  default: undefined,
};

export const ignoreConfiguredEndpointsSelectors = {
  environmentVariableSelector: (env: Section): boolean | undefined => flag(env, IGNORE_ENV, "environment variable"),
  configFileSelector: (profile: Section): boolean | undefined => flag(profile, IGNORE_CONFIG, "config"),
  default: false,
};

const isFipsRegion = (region: string): boolean => region.startsWith("fips-") || region.endsWith("-fips");
const VALID_HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** The region to sign for and whether it asks for FIPS (@smithy/core resolveRegionConfig). */
export function realRegion(region: string): { region: string; fips: boolean } {
  if (!region) throw new Error("Region is missing");
  const fips = isFipsRegion(region);
  const real = !fips ? region : ["fips-aws-global", "aws-fips"].includes(region) ? "us-east-1" : region.replace(/fips-(dkr-|prod-)?|-fips/, "");
  if (!VALID_HOST_LABEL.test(real)) throw new Error(`Region not accepted: region="${real}" is not a valid hostname component.`);
  return { region: real, fips };
}

/** The EC2 endpoint rule set (client-ec2 3.1169, endpoint/bdd.js) for a region without a custom endpoint. */
export function regionalEc2Endpoint(region: string, switches: EndpointSwitches): string {
  const p = partition(region);
  const { useFips, useDualStack } = switches;
  if (useFips && useDualStack) {
    if (p.supportsFIPS && p.supportsDualStack) return `https://ec2-fips.${region}.${p.dualStackDnsSuffix}`;
    throw endpointError("FIPS and DualStack are enabled, but this partition does not support one or both");
  }
  if (useFips) {
    if (!p.supportsFIPS) throw endpointError("FIPS is enabled but this partition does not support FIPS");
    return p.name === "aws-us-gov" ? `https://ec2.${region}.amazonaws.com` : `https://ec2-fips.${region}.${p.dnsSuffix}`;
  }
  if (useDualStack) {
    if (!p.supportsDualStack) throw endpointError("DualStack is enabled but this partition does not support DualStack");
    return `https://ec2.${region}.${p.dualStackDnsSuffix}`;
  }
  return `https://ec2.${region}.${p.dnsSuffix}`;
}

/** A custom endpoint (given or configured): the rule set refuses it with FIPS or dual-stack on. */
export function customEc2Endpoint(endpoint: string, switches: EndpointSwitches): URL {
  if (switches.useFips) throw endpointError("Invalid Configuration: FIPS and custom endpoint are not supported");
  if (switches.useDualStack) throw endpointError("Invalid Configuration: Dualstack and custom endpoint are not supported");
  return new URL(endpoint);
}

/** Resolves the endpoint with the SDK's config loaders (process.env, shared config files). */
export async function resolveEc2Endpoint(options: { region: string; endpoint?: string | undefined }): Promise<Ec2Endpoint> {
  const { region, fips } = realRegion(options.region);
  const [useFips, useDualStack] = await Promise.all([
    fips ? Promise.resolve(true) : loadConfig(NODE_USE_FIPS_ENDPOINT_CONFIG_OPTIONS)(),
    loadConfig(NODE_USE_DUALSTACK_ENDPOINT_CONFIG_OPTIONS)(),
  ]);
  const switches = { useFips, useDualStack };
  let custom = options.endpoint;
  if (custom === undefined && !(await loadConfig(ignoreConfiguredEndpointsSelectors)())) {
    custom = await loadConfig(configuredEndpointSelectors)();
  }
  const url = custom !== undefined ? customEc2Endpoint(custom, switches) : new URL(regionalEc2Endpoint(region, switches));
  return { url, signingRegion: region };
}
