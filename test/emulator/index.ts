import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from "./aws/index.js";
import { startImdsEmulator, type ImdsEmulator, type ImdsEmulatorOptions } from "./imds/index.js";

export { startAwsEmulator, startImdsEmulator, type AwsEmulator, type ImdsEmulator };

export interface LocalCloud {
  imds: ImdsEmulator;
  aws: AwsEmulator;
  /** Environment that points the agent and the AWS SDK at the emulators (SDK default credential chain via IMDS). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface LocalCloudOptions {
  imds?: ImdsEmulatorOptions;
  aws?: AwsEmulatorOptions;
}

/** Starts the IMDS and Auto Scaling/EC2 emulators on loopback, ephemeral ports. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const [imds, aws] = await Promise.all([startImdsEmulator(options.imds), startAwsEmulator(options.aws)]);
  const env = {
    NIXBOOT_IMDS_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_AUTO_SCALING: aws.url,
    AWS_ENDPOINT_URL_EC2: aws.url,
    // The SDK's instance-profile provider reads credentials from this IMDS.
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: imds.url.includes("[") ? "IPv6" : "IPv4",
  };
  return {
    imds,
    aws,
    env,
    close: async () => {
      await Promise.all([imds.close(), aws.close()]);
    },
  };
}
