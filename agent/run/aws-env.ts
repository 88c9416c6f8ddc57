import type { BootRunSdkOptions } from "./boot-run.js";

/**
 * The AWS SDK options `nixboot run` takes from the CLI's environment.
 *
 * The SDK resolves endpoints and credentials from `process.env` by itself; the
 * CLI's environment (`CliIo.env`) is the one every other setting comes from
 * (in production both are the same object). So the variables the lifecycle
 * stage depends on are read from that environment and passed explicitly, with
 * the SDK's precedence: `AWS_ENDPOINT_URL_AUTO_SCALING` / `AWS_ENDPOINT_URL_EC2`
 * over `AWS_ENDPOINT_URL`, none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`;
 * static keys when both `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are set.
 * Without them the SDK's own chain applies (the instance profile on EC2), and
 * that chain reads `process.env` (e.g. `AWS_EC2_METADATA_SERVICE_ENDPOINT`).
 */
export function sdkOptionsFromEnv(env: NodeJS.ProcessEnv): BootRunSdkOptions | undefined {
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text ? text : undefined;
  };
  const options: BootRunSdkOptions = {};
  if (value("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.toLowerCase() !== "true") {
    const global = value("AWS_ENDPOINT_URL");
    const autoScaling = value("AWS_ENDPOINT_URL_AUTO_SCALING") ?? global;
    const ec2 = value("AWS_ENDPOINT_URL_EC2") ?? global;
    if (autoScaling !== undefined || ec2 !== undefined) {
      options.endpoints = { ...(autoScaling !== undefined ? { autoScaling } : {}), ...(ec2 !== undefined ? { ec2 } : {}) };
    }
  }
  const accessKeyId = value("AWS_ACCESS_KEY_ID");
  const secretAccessKey = value("AWS_SECRET_ACCESS_KEY");
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = value("AWS_SESSION_TOKEN");
    options.credentials = { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) };
  }
  return Object.keys(options).length > 0 ? options : undefined;
}
