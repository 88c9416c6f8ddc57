import type { Clock } from "../clock.js";
import type { Logger } from "../log/logger.js";
import type { LifecycleApi, TagsApi } from "./api.js";
import { GROUP_TAG } from "./constants.js";
import { ApiCallError, LifecycleError } from "./errors.js";
import { withRetry, type RetryPolicy } from "./retry.js";

/**
 * Which Auto Scaling group the instance belongs to, asking as little as possible:
 *
 * 1. the IMDS tag `aws:autoscaling:groupName` (instance metadata tags on): no API call;
 * 2. EC2 DescribeTags for the instance: Auto Scaling tags every instance it
 *    launches and `aws:` tags cannot be removed, so an answer without the tag
 *    means "not in a group";
 * 3. if DescribeTags is not allowed or keeps failing: DescribeAutoScalingInstances;
 * 4. otherwise "not in a group", a normal outcome (an instance outside Auto Scaling).
 *
 * No credentials at all (no instance profile) also means "not in a group",
 * with a warning: such an instance could not complete a hook anyway.
 */

export type GroupSource = "imds-tag" | "ec2-tags" | "autoscaling" | "cache";

export interface GroupDiscovery {
  /** The group, or null when the instance is in none. */
  group: string | null;
  source: GroupSource | "none";
  /** The instance's lifecycle state, when DescribeAutoScalingInstances was asked. */
  lifecycleState?: string;
}

export interface DiscoverGroupOptions {
  instanceId: string;
  /** The IMDS tag `tags/instance/aws:autoscaling:groupName`, when instance metadata tags are on. */
  groupFromImds?: string | undefined;
  api: LifecycleApi;
  tags?: TagsApi | undefined;
  clock: Clock;
  logger: Logger;
  /** Retries stop at this instant (clock ms). */
  deadline: number;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
}

export async function discoverGroup(options: DiscoverGroupOptions): Promise<GroupDiscovery> {
  const { instanceId, logger } = options;
  const imdsGroup = options.groupFromImds?.trim();
  if (imdsGroup) {
    logger.debug({ group: imdsGroup }, "group from the IMDS instance tag");
    return { group: imdsGroup, source: "imds-tag" };
  }
  const retry = { clock: options.clock, deadline: options.deadline, logger, ...(options.retry ? { policy: options.retry } : {}), ...(options.signal ? { signal: options.signal } : {}) };

  if (options.tags) {
    const tagsApi = options.tags;
    try {
      const { value: tags } = await withRetry(() => tagsApi.describeInstanceTags(instanceId, [GROUP_TAG], signalOf(options)), { ...retry, operation: "DescribeTags" });
      const group = tags[GROUP_TAG]?.trim();
      if (group) {
        logger.debug({ group }, "group from the instance's EC2 tags");
        return { group, source: "ec2-tags" };
      }
      logger.info({ instanceId }, `instance has no ${GROUP_TAG} tag: not in an Auto Scaling group`);
      return { group: null, source: "none" };
    } catch (error) {
      if (!(error instanceof ApiCallError)) throw error;
      if (error.failure.kind === "aborted") throw error;
      if (error.failure.kind === "credentials" && !error.failure.retryable) return noCredentials(logger, error);
      logger.info({ awsCode: error.failure.code, kind: error.failure.kind }, "DescribeTags did not answer; asking Auto Scaling (DescribeAutoScalingInstances)");
    }
  }

  try {
    const { value: instances } = await withRetry(() => options.api.describeAutoScalingInstances([instanceId], signalOf(options)), {
      ...retry,
      operation: "DescribeAutoScalingInstances",
    });
    const mine = instances.find((i) => i.instanceId === instanceId && i.group !== "");
    if (!mine) {
      logger.info({ instanceId }, "Auto Scaling does not know this instance: not in an Auto Scaling group");
      return { group: null, source: "none" };
    }
    logger.debug({ group: mine.group, lifecycleState: mine.lifecycleState }, "group from DescribeAutoScalingInstances");
    return { group: mine.group, source: "autoscaling", lifecycleState: mine.lifecycleState };
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    if (error.failure.kind === "credentials" && !error.failure.retryable) return noCredentials(logger, error);
    if (error.failure.kind === "aborted") throw error;
    throw new LifecycleError(`cannot tell whether instance ${instanceId} is in an Auto Scaling group: ${error.message}`, {
      cause: error,
      hint:
        `enable instance metadata tags on the launch template (InstanceMetadataTags=enabled), or allow ec2:DescribeTags or ` +
        `autoscaling:DescribeAutoScalingInstances to the instance role; outside Auto Scaling, turn reporting off (--no-report)`,
      details: error.details,
    });
  }
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function noCredentials(logger: Logger, error: ApiCallError): GroupDiscovery {
  logger.warn(
    { awsCode: error.failure.code },
    "no AWS credentials (no instance profile?): assuming the instance is not in an Auto Scaling group; turn reporting off (--no-report) to skip this check",
  );
  return { group: null, source: "none" };
}
