import type { AutoScalingClient, AutoScalingClientConfig } from "@aws-sdk/client-auto-scaling";
import type { LifecycleApi, LifecycleHookDescription, TagsApi } from "./api.js";
import { ACTION_RESULTS, Timeouts, type LifecycleActionResult } from "./constants.js";

/**
 * The composition root of the lifecycle stage: the real AWS SDK Auto Scaling
 * client behind `LifecycleApi`, and the minimal EC2 Query client
 * (`ec2-query.ts`, same SDK signer and credential chain) behind `TagsApi`.
 *
 * The SDK is loaded with a dynamic `import()` on first use (or `preload()`),
 * so it stays off the boot's critical path: the run command can start loading
 * it while Nix evaluates, and a boot that finds its group and hook in the
 * cache loads it only for the first heartbeat or the completion.
 *
 * Endpoints: without `endpoint`, the SDK itself honours
 * `AWS_ENDPOINT_URL_AUTO_SCALING` (and the global `AWS_ENDPOINT_URL`),
 * checked in @smithy/core's getEndpointUrlConfig with the installed 3.1169
 * client (service ID "Auto Scaling"); `ec2-endpoint.ts` does the same for
 * `AWS_ENDPOINT_URL_EC2` with the SDK's loaders.
 *
 * Retries: `maxAttempts: 1`. Every call that is retried is retried by p-retry
 * in `retry.ts`, within the hook's remaining time; the SDK's standard mode
 * would add its own 3 attempts, backoff and retry quota under each of ours,
 * multiplying requests against a throttled API and ignoring our deadline.
 *
 * Timeouts: `requestTimeout` with `throwOnRequestTimeout: true`. Without the
 * flag, @smithy/node-http-handler (4.14.x here) only logs a warning when a
 * call passes `requestTimeout` and the call goes on waiting; with it, the
 * request is destroyed and fails with a TimeoutError (ETIMEDOUT), a network
 * failure that p-retry retries.
 */

export interface SdkApiOptions {
  region: string;
  /** Overrides the endpoint (e.g. the local emulator); normally left to the SDK's own resolution. */
  endpoint?: string;
  /** Static credentials or a provider; defaults to the SDK's chain (the instance profile on EC2). */
  credentials?: AutoScalingClientConfig["credentials"];
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function clientConfig(options: SdkApiOptions): AutoScalingClientConfig {
  return {
    region: options.region,
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? Timeouts.API_CONNECT_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? Timeouts.API_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  };
}

/** Memoises an async factory; a failed attempt (e.g. import error) is forgotten so the next call retries. */
function lazy<T>(factory: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= factory().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

const asResult = (value: string | undefined): LifecycleActionResult | null =>
  (ACTION_RESULTS as readonly string[]).includes(value ?? "") ? (value as LifecycleActionResult) : null;

export function createSdkLifecycleApi(options: SdkApiOptions): LifecycleApi {
  const load = lazy(async () => {
    const sdk = await import("@aws-sdk/client-auto-scaling");
    return { sdk, client: new sdk.AutoScalingClient(clientConfig(options)) as AutoScalingClient };
  });

  return {
    preload: async () => {
      await load();
    },

    async describeAutoScalingInstances(instanceIds, call = {}) {
      const { sdk, client } = await load();
      const out = await client.send(new sdk.DescribeAutoScalingInstancesCommand({ InstanceIds: instanceIds }), { abortSignal: call.signal });
      return (out.AutoScalingInstances ?? []).map((i) => ({
        instanceId: i.InstanceId ?? "",
        group: i.AutoScalingGroupName ?? "",
        lifecycleState: i.LifecycleState ?? "",
      }));
    },

    async describeLifecycleHooks(group, hookNames, call = {}) {
      const { sdk, client } = await load();
      const out = await client.send(
        new sdk.DescribeLifecycleHooksCommand({ AutoScalingGroupName: group, ...(hookNames?.length ? { LifecycleHookNames: hookNames } : {}) }),
        { abortSignal: call.signal },
      );
      return (out.LifecycleHooks ?? []).map(
        (h): LifecycleHookDescription => ({
          name: h.LifecycleHookName ?? "",
          group: h.AutoScalingGroupName ?? group,
          transition: h.LifecycleTransition ?? "",
          heartbeatTimeoutSeconds: h.HeartbeatTimeout ?? null,
          globalTimeoutSeconds: h.GlobalTimeout ?? null,
          defaultResult: asResult(h.DefaultResult),
        }),
      );
    },

    async completeLifecycleAction(target, result, call = {}) {
      const { sdk, client } = await load();
      await client.send(
        new sdk.CompleteLifecycleActionCommand({
          AutoScalingGroupName: target.group,
          LifecycleHookName: target.hook,
          InstanceId: target.instanceId,
          LifecycleActionResult: result,
        }),
        { abortSignal: call.signal },
      );
    },

    async recordHeartbeat(target, call = {}) {
      const { sdk, client } = await load();
      await client.send(
        new sdk.RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: target.group,
          LifecycleHookName: target.hook,
          InstanceId: target.instanceId,
        }),
        { abortSignal: call.signal },
      );
    },
  };
}

/**
 * EC2 DescribeTags only: the group-discovery fallback when IMDS has no
 * instance tags. Not through @aws-sdk/client-ec2 (1.6 MB of bundle and
 * ~100 ms of start-up for this one call) but a minimal EC2 Query client
 * (`ec2-query.ts`) built from what the Auto Scaling client bundles anyway
 * (SigV4 signer, credential chain, config loaders); same options, same
 * endpoint resolution, same failure shapes. Loaded on first use too.
 */
export function createSdkTagsApi(options: SdkApiOptions): TagsApi {
  const load = lazy(async () => (await import("./ec2-query.js")).createEc2QueryTagsApi(options));

  return {
    preload: async () => {
      await load();
    },

    async describeInstanceTags(instanceId, keys, call = {}) {
      return (await load()).describeInstanceTags(instanceId, keys, call);
    },
  };
}

/**
 * Loads the AWS modules (the Auto Scaling client, the EC2 Query client)
 * without building a client: for a caller that wants them in memory (e.g.
 * while Nix evaluates) before it has the settings.
 */
export async function preloadAwsSdk(): Promise<void> {
  await Promise.all([import("@aws-sdk/client-auto-scaling"), import("./ec2-query.js")]);
}
