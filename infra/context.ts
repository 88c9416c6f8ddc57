import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Duration } from "aws-cdk-lib";
import { InstanceType } from "aws-cdk-lib/aws-ec2";
import { InfraPropsError } from "./errors.js";

/**
 * The `nixboot:*` context keys `infra/app.ts` reads (from `cdk.json` or
 * `cdk … -c key=value`). Values given on the command line are strings;
 * cdk.json may also give numbers and lists. Unknown `nixboot:*` keys are
 * rejected, so a typo does not silently fall back to a default.
 */
export const CONTEXT_KEYS = {
  imageInfo: "nixboot:imageInfo",
  amiId: "nixboot:amiId",
  configuration: "nixboot:configuration",
  vpcId: "nixboot:vpcId",
  subnetIds: "nixboot:subnetIds",
  instanceType: "nixboot:instanceType",
  minCapacity: "nixboot:minCapacity",
  maxCapacity: "nixboot:maxCapacity",
  groupName: "nixboot:groupName",
  heartbeatTimeoutSeconds: "nixboot:heartbeatTimeoutSeconds",
  stackPrefix: "nixboot:stackPrefix",
  amiNamePrefix: "nixboot:amiNamePrefix",
} as const;

export const DEFAULT_CONFIGURATION_PATH = "infra/examples/configuration.nix";

export interface AppConfig {
  readonly stackPrefix: string;
  readonly image: { readonly imageInfoPath: string | undefined; readonly amiId: string | undefined; readonly namePrefix: string | undefined };
  readonly fleet: {
    readonly configuration: string;
    readonly vpcId: string | undefined;
    readonly subnetIds: readonly string[] | undefined;
    readonly instanceType: InstanceType | undefined;
    readonly minCapacity: number | undefined;
    readonly maxCapacity: number | undefined;
    readonly groupName: string | undefined;
    readonly heartbeatTimeout: Duration | undefined;
  };
}

/** Reads the app's configuration from CDK context. Relative paths are taken from `cwd`. Throws `InfraPropsError`. */
export function readAppConfig(context: Record<string, unknown>, cwd: string = process.cwd()): AppConfig {
  const known = new Set<string>(Object.values(CONTEXT_KEYS));
  for (const key of Object.keys(context)) {
    if (key.startsWith("nixboot:") && !known.has(key)) {
      throw new InfraPropsError(`unknown context key ${key}`, { hint: `known keys: ${[...known].join(", ")}` });
    }
  }
  const text = (key: string): string | undefined => {
    const value = context[key];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") throw new InfraPropsError(`context key ${key} must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  const count = (key: string): number | undefined => {
    const value = context[key];
    if (value === undefined || value === "") return undefined;
    const n = typeof value === "number" ? value : typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n)) throw new InfraPropsError(`context key ${key} must be a whole number, got ${JSON.stringify(value)}`);
    return n;
  };
  const list = (key: string): string[] | undefined => {
    const value = context[key];
    if (value === undefined || value === "") return undefined;
    const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",").map((s) => s.trim()) : undefined;
    if (!items || !items.every((s): s is string => typeof s === "string" && s !== "")) {
      throw new InfraPropsError(`context key ${key} must be a comma-separated list or a list of strings, got ${JSON.stringify(value)}`);
    }
    return items;
  };

  const imageInfo = text(CONTEXT_KEYS.imageInfo);
  const amiId = text(CONTEXT_KEYS.amiId);
  if ((imageInfo === undefined) === (amiId === undefined)) {
    throw new InfraPropsError(`give exactly one of ${CONTEXT_KEYS.imageInfo} and ${CONTEXT_KEYS.amiId}`, {
      hint: `import a Nix-built image: cdk synth -c ${CONTEXT_KEYS.imageInfo}=./result; or use an AMI: -c ${CONTEXT_KEYS.amiId}=ami-…`,
    });
  }

  const configurationPath = resolve(cwd, text(CONTEXT_KEYS.configuration) ?? DEFAULT_CONFIGURATION_PATH);
  let configuration: string;
  try {
    configuration = readFileSync(configurationPath, "utf8");
  } catch (cause) {
    throw new InfraPropsError(`cannot read the configuration ${configurationPath}`, { cause, hint: `set ${CONTEXT_KEYS.configuration} to a configuration.nix` });
  }

  const instanceType = text(CONTEXT_KEYS.instanceType);
  if (instanceType !== undefined && !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) {
    throw new InfraPropsError(`context key ${CONTEXT_KEYS.instanceType} is ${JSON.stringify(instanceType)}, not an instance type`, { hint: "e.g. t3.medium, m7g.large" });
  }
  const heartbeat = count(CONTEXT_KEYS.heartbeatTimeoutSeconds);

  return {
    stackPrefix: text(CONTEXT_KEYS.stackPrefix) ?? "Nixboot",
    image: {
      imageInfoPath: imageInfo === undefined ? undefined : resolve(cwd, imageInfo),
      amiId,
      namePrefix: text(CONTEXT_KEYS.amiNamePrefix),
    },
    fleet: {
      configuration,
      vpcId: text(CONTEXT_KEYS.vpcId),
      subnetIds: list(CONTEXT_KEYS.subnetIds),
      instanceType: instanceType === undefined ? undefined : new InstanceType(instanceType),
      minCapacity: count(CONTEXT_KEYS.minCapacity),
      maxCapacity: count(CONTEXT_KEYS.maxCapacity),
      groupName: text(CONTEXT_KEYS.groupName),
      heartbeatTimeout: heartbeat === undefined ? undefined : Duration.seconds(heartbeat),
    },
  };
}
