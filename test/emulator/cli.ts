// The local cloud as a process, for the demo and for trying nixboot by hand:
//   node dist/emulator.mjs --userdata FILE [--group demo-asg] [--hook launch] [--pending]
// Prints one JSON line {imds, aws, admin, env} when ready; GET {admin}/state returns
// what the emulated Auto Scaling recorded (completions, heartbeats, requests).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { startLocalCloud } from "./index.js";

const { values } = parseArgs({
  options: {
    userdata: { type: "string" },
    "instance-id": { type: "string", default: "i-0123456789abcdef0" },
    region: { type: "string", default: "eu-west-1" },
    group: { type: "string", default: "nixboot-demo" },
    hook: { type: "string", default: "nixboot-launch" },
    "heartbeat-timeout": { type: "string", default: "300" },
    "no-group": { type: "boolean", default: false },
    "tags-off": { type: "boolean", default: false },
    pending: { type: "boolean", default: false },
    "target-state": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("usage: emulator [--userdata FILE] [--instance-id ID] [--region R] [--group NAME | --no-group] [--hook NAME]\n" +
    "                [--heartbeat-timeout S] [--tags-off] [--pending] [--target-state InService|Warmed:Stopped]");
  process.exit(0);
}

const instanceId = values["instance-id"];
const group = values["no-group"] ? null : values.group;
const cloud = await startLocalCloud({
  imds: {
    state: {
      userdata: values.userdata ? await readFile(values.userdata) : null,
      instanceId,
      region: values.region,
      tagsEnabled: !values["tags-off"],
      autoScalingGroupName: group,
      targetLifecycleState: values["target-state"] ?? (group ? "InService" : null),
    },
  },
  aws: {
    region: values.region,
    groups: group
      ? [{ name: group, instances: [instanceId], hooks: [{ name: values.hook, heartbeatTimeoutSeconds: Number(values["heartbeat-timeout"]), defaultResult: "ABANDON" }] }]
      : [],
  },
});
if (group && values.pending) cloud.aws.state.startLifecycleAction(instanceId, { hook: values.hook, warmed: (values["target-state"] ?? "").startsWith("Warmed:") });

const admin = createServer((request, response) => {
  if (request.url !== "/state") {
    response.writeHead(404).end();
    return;
  }
  const state = cloud.aws.state;
  response.setHeader("content-type", "application/json");
  response.end(
    JSON.stringify({
      completions: state.completions(),
      heartbeats: state.heartbeats(),
      actions: state.actions(),
      awsRequests: state.requests().map((record) => record.action),
      imdsRequests: cloud.imds.state.requests.length,
    }),
  );
});
await new Promise<void>((resolve) => admin.listen(0, "127.0.0.1", resolve));
const adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
console.log(JSON.stringify({ imds: cloud.imds.url, aws: cloud.aws.url, admin: adminUrl, env: cloud.env }));

const stop = async (): Promise<void> => {
  admin.close();
  await cloud.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
