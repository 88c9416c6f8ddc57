import { EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageImportError } from "../../infra/errors.js";
import { importClientToken } from "../../infra/image/image-info.js";
import { createImportHandlers, ec2ImportApi } from "../../infra/image/import-handler.js";
import type { ImportEvent } from "../../infra/image/import-handler.js";
import { toResourceProperties } from "../../infra/image/import-requests.js";
import { startEc2Server } from "./ec2-query-server.js";

const NAME = "nixboot-25.05.20250601.abcdef0-x86_64-linux-1b8m0r3w9zq4s7k2f6h5a0c3d9g1l2p4";
const ResourceProperties = toResourceProperties({
  imageName: NAME,
  bucket: "image-bucket",
  key: "images/1b8m0r3w.vhd",
  format: "VHD",
  bootMode: "uefi",
  architecture: "x86_64",
  roleName: "vmimport-nixboot",
  volumeSizeGiB: 3,
  encrypted: true,
});

// The handler against a local EC2 Query endpoint through the real SDK client:
// what it sends is what EC2 would receive.
let ec2: Awaited<ReturnType<typeof startEc2Server>>;
let handlers: ReturnType<typeof createImportHandlers>;

beforeEach(async () => {
  ec2 = await startEc2Server();
  const client = new EC2Client({ endpoint: ec2.endpoint, region: "eu-west-1", credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" }, maxAttempts: 1 });
  handlers = createImportHandlers(ec2ImportApi(client));
});
afterEach(async () => ec2.close());

const create: ImportEvent = { RequestType: "Create", ResourceProperties };
const actions = () => ec2.state.requests.map((p) => p.get("Action"));

describe("import handler", () => {
  it("imports, waits for the snapshot, registers, waits for the AMI, and returns its id", async () => {
    const started = await handlers.onEvent(create);
    expect(started.PhysicalResourceId).toBe(NAME);
    const taskId = started.Data?.["ImportTaskId"];
    expect(taskId).toMatch(/^import-snap-/);
    const importCall = ec2.state.requests.find((p) => p.get("Action") === "ImportSnapshot")!;
    expect(Object.fromEntries(importCall)).toMatchObject({
      ClientToken: importClientToken(NAME),
      RoleName: "vmimport-nixboot",
      Encrypted: "true",
      "DiskContainer.Format": "VHD",
      "DiskContainer.UserBucket.S3Bucket": "image-bucket",
      "DiskContainer.UserBucket.S3Key": "images/1b8m0r3w.vhd",
    });

    const polling: ImportEvent = { ...create, PhysicalResourceId: NAME, Data: started.Data! };
    expect(await handlers.isComplete(polling)).toEqual({ IsComplete: false });

    ec2.state.tasks.get(taskId!)!.status = "completed";
    ec2.state.tasks.get(taskId!)!.snapshotId = "snap-0123456789abcdef0";
    expect(await handlers.isComplete(polling)).toEqual({ IsComplete: false });
    const register = Object.fromEntries(ec2.state.requests.find((p) => p.get("Action") === "RegisterImage")!);
    expect(register).toMatchObject({
      Name: NAME,
      Architecture: "x86_64",
      BootMode: "uefi",
      EnaSupport: "true",
      ImdsSupport: "v2.0",
      RootDeviceName: "/dev/xvda",
      VirtualizationType: "hvm",
      "BlockDeviceMapping.1.DeviceName": "/dev/xvda",
      "BlockDeviceMapping.1.Ebs.SnapshotId": "snap-0123456789abcdef0",
      "BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
      "BlockDeviceMapping.1.Ebs.VolumeSize": "3",
    });

    expect(await handlers.isComplete(polling)).toEqual({ IsComplete: false });
    ec2.state.images[0]!.state = "available";
    expect(await handlers.isComplete(polling)).toEqual({ IsComplete: true, Data: { ImageId: ec2.state.images[0]!.imageId } });
    expect(actions().filter((a) => a === "RegisterImage")).toHaveLength(1);
  });

  it("does not import again when the AMI is already registered under its name", async () => {
    ec2.state.images.push({ imageId: "ami-0aaaaaaaaaaaaaaaa", name: NAME, state: "available" });
    const started = await handlers.onEvent({ ...create, RequestType: "Update" });
    expect(started).toEqual({ PhysicalResourceId: NAME, Data: { ImageId: "ami-0aaaaaaaaaaaaaaaa" } });
    expect(await handlers.isComplete({ ...create, Data: started.Data! })).toEqual({ IsComplete: true, Data: { ImageId: "ami-0aaaaaaaaaaaaaaaa" } });
    expect(actions()).not.toContain("ImportSnapshot");
  });

  it("joins the same import task on a retried deployment (client token)", async () => {
    const first = await handlers.onEvent(create);
    const second = await handlers.onEvent(create);
    expect(second.Data?.["ImportTaskId"]).toBe(first.Data?.["ImportTaskId"]);
    expect(ec2.state.tasks.size).toBe(1);
  });

  it("takes a duplicate-name answer from a racing poll as progress", async () => {
    const started = await handlers.onEvent(create);
    const task = ec2.state.tasks.get(started.Data!["ImportTaskId"]!)!;
    Object.assign(task, { status: "completed", snapshotId: "snap-1" });
    ec2.state.failNext.set("RegisterImage", { status: 400, code: "InvalidAMIName.Duplicate", message: "AMI name is already in use" });
    expect(await handlers.isComplete({ ...create, Data: started.Data! })).toEqual({ IsComplete: false });
  });

  it("fails with EC2's message when the snapshot import fails", async () => {
    const started = await handlers.onEvent(create);
    Object.assign(ec2.state.tasks.get(started.Data!["ImportTaskId"]!)!, { status: "deleted", message: "ClientError: Disk validation failed [Unsupported VHD Footer]" });
    const poll = handlers.isComplete({ ...create, Data: started.Data! });
    await expect(poll).rejects.toThrow(ImageImportError);
    await expect(handlers.isComplete({ ...create, Data: started.Data! })).rejects.toThrow(/ended deleted: ClientError: Disk validation failed/);
  });

  it("fails when the registered AMI failed", async () => {
    ec2.state.images.push({ imageId: "ami-0bbbbbbbbbbbbbbbb", name: NAME, state: "failed" });
    await expect(handlers.isComplete({ ...create, Data: {} })).rejects.toThrow(/is failed/);
  });

  it("explains a client-token clash with an earlier import that used other parameters", async () => {
    ec2.state.failNext.set("ImportSnapshot", { status: 400, code: "IdempotentParameterMismatch", message: "token reused" });
    await expect(handlers.onEvent(create)).rejects.toThrow(/an earlier import .* used other parameters/);
  });

  it("keeps the AMI when the resource is deleted", async () => {
    expect(await handlers.onEvent({ RequestType: "Delete", PhysicalResourceId: NAME, ResourceProperties })).toEqual({ PhysicalResourceId: NAME });
    expect(await handlers.isComplete({ RequestType: "Delete", PhysicalResourceId: NAME, ResourceProperties })).toEqual({ IsComplete: true });
    expect(ec2.state.requests).toHaveLength(0);
  });

  it("refuses malformed properties before calling EC2", async () => {
    await expect(handlers.onEvent({ RequestType: "Create", ResourceProperties: { ...ResourceProperties, Format: "QCOW2" } })).rejects.toThrow(/Format/);
    expect(ec2.state.requests).toHaveLength(0);
  });
});
