import { createImdsClient } from "../../intake/imds-client.js";
import { readUserdata } from "../../intake/index.js";
import { IMDS_SETTINGS, type CommandContext, type CommandSpec } from "../command.js";
import { ExitStatus } from "../exit-status.js";
import { describeIntake, renderIntake } from "./classify.js";

/** An IMDS client configured from settings; shared by `fetch` and `run`. */
export function imdsClientFrom({ settings, clock, logger }: Pick<CommandContext, "settings" | "clock" | "logger">) {
  return createImdsClient({
    endpoint: settings.imdsEndpoint,
    requestTimeoutMs: settings.imdsTimeoutSeconds * 1000,
    budgetMs: settings.imdsBudgetSeconds * 1000,
    clock,
    logger,
  });
}

export const fetchCommand: CommandSpec = {
  name: "fetch",
  summary: "read identity and userdata from IMDS (IMDSv2) and classify it",
  usage: "[--show-body] [--json] [--imds-endpoint URL]",
  description:
    "Asks the instance metadata service (IMDSv2 only) for the instance id, region, Auto Scaling group tag,\n" +
    "target lifecycle state and userdata, decodes and classifies the userdata, and prints a summary.\n" +
    "The userdata body is printed only with --show-body.",
  positionals: { min: 0, max: 0, names: "no arguments" },
  settings: IMDS_SETTINGS,
  options: { "show-body": { type: "boolean", doc: "also print the decoded configuration or script" } },
  async run(context) {
    const imds = imdsClientFrom(context);
    const [identity, userdata] = await Promise.all([imds.getIdentity(), imds.getUserdata()]);
    const intake = readUserdata(userdata);
    const body = intake.configuration ?? intake.script;
    const showBody = context.flags["show-body"] === true && body !== undefined;
    const report = {
      ok: true,
      instanceId: identity.instanceId,
      region: identity.region,
      autoScalingGroup: identity.groupName,
      targetLifecycleState: identity.targetLifecycleState,
      imdsRequests: imds.stats().requests,
      ...describeIntake(intake),
      ...(showBody ? { body } : {}),
    };
    const text = [
      `instance:   ${identity.instanceId} (${identity.region})`,
      `group:      ${identity.groupName ?? "(no aws:autoscaling:groupName tag in instance metadata)"}`,
      `lifecycle:  ${identity.targetLifecycleState ?? "-"}`,
      renderIntake(intake),
      ...(showBody ? ["", body] : []),
    ].join("\n");
    return { status: ExitStatus.Ok, report, text };
  },
};
