/**
 * The AMI import custom resource (Lambda, behind the CDK Provider framework):
 * `onEvent` starts the work and returns at once, `isComplete` is polled until
 * the AMI is available. The steps are NixOS' own upload flow:
 *
 *   image already registered under its name? → done (idempotent re-deploys)
 *   ImportSnapshot (client token from the image name) → poll the task
 *   → RegisterImage from the snapshot → poll until the image is available.
 *
 * Deleting the resource keeps the AMI and its snapshot: instances may still be
 * launching from it, and an older AMI is what a rollback needs.
 */
import { DescribeImagesCommand, DescribeImportSnapshotTasksCommand, EC2Client, ImportSnapshotCommand, RegisterImageCommand } from "@aws-sdk/client-ec2";
import type { ImportSnapshotCommandInput, RegisterImageCommandInput } from "@aws-sdk/client-ec2";
import { ImageImportError } from "../errors.js";
import { importSnapshotInput, readImportProperties, registerImageInput } from "./import-requests.js";

/** The subset of the Provider framework's event this handler reads. */
export interface ImportEvent {
  readonly RequestType: "Create" | "Update" | "Delete";
  readonly ResourceProperties?: Record<string, unknown>;
  readonly PhysicalResourceId?: string;
  /** On isComplete: what onEvent returned in `Data`. */
  readonly Data?: Record<string, unknown>;
}

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export interface IsCompleteResult {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, string>;
}

export interface FoundImage {
  readonly imageId: string;
  readonly state: string;
  readonly reason: string | undefined;
}

export interface ImportTask {
  readonly status: string;
  readonly snapshotId: string | undefined;
  readonly message: string | undefined;
}

/** The EC2 calls the import makes, and nothing else. */
export interface ImportApi {
  findImage(name: string): Promise<FoundImage | undefined>;
  importSnapshot(input: ImportSnapshotCommandInput): Promise<string>;
  describeImportTask(taskId: string): Promise<ImportTask>;
  registerImage(input: RegisterImageCommandInput): Promise<string>;
}

/** Attributes of the custom resource (`getAttString`). */
export const ATTRIBUTES = { imageId: "ImageId", importTaskId: "ImportTaskId" } as const;

export function ec2ImportApi(client: EC2Client): ImportApi {
  return {
    async findImage(name) {
      const out = await client.send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: [name] }] }));
      const image = out.Images?.[0];
      if (!image?.ImageId) return undefined;
      return { imageId: image.ImageId, state: image.State ?? "unknown", reason: image.StateReason?.Message };
    },
    async importSnapshot(input) {
      try {
        const out = await client.send(new ImportSnapshotCommand(input));
        if (!out.ImportTaskId) throw new ImageImportError("ImportSnapshot returned no task id", { hint: "deploy again; the client token makes the retry join the same import" });
        return out.ImportTaskId;
      } catch (error) {
        if (error instanceof Error && error.name === "IdempotentParameterMismatch") {
          throw new ImageImportError(`an earlier import of ${input.Description} used other parameters (another bucket or role)`, {
            cause: error,
            hint: "use another AMI name prefix for this stack, or register the earlier snapshot yourself",
          });
        }
        throw error;
      }
    },
    async describeImportTask(taskId) {
      const out = await client.send(new DescribeImportSnapshotTasksCommand({ ImportTaskIds: [taskId] }));
      const detail = out.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail;
      return { status: detail?.Status ?? "unknown", snapshotId: detail?.SnapshotId, message: detail?.StatusMessage };
    },
    async registerImage(input) {
      const out = await client.send(new RegisterImageCommand(input));
      if (!out.ImageId) throw new ImageImportError("RegisterImage returned no image id", { hint: "deploy again; registration is looked up by name first" });
      return out.ImageId;
    },
  };
}

export function createImportHandlers(api: ImportApi): {
  onEvent(event: ImportEvent): Promise<OnEventResult>;
  isComplete(event: ImportEvent): Promise<IsCompleteResult>;
} {
  return {
    async onEvent(event) {
      if (event.RequestType === "Delete") {
        // Keep the AMI: see the file comment.
        return { PhysicalResourceId: event.PhysicalResourceId ?? "none" };
      }
      const props = readImportProperties(event.ResourceProperties);
      const existing = await api.findImage(props.imageName);
      if (existing) return { PhysicalResourceId: props.imageName, Data: attribute("imageId", existing.imageId) };
      const taskId = await api.importSnapshot(importSnapshotInput(props));
      return { PhysicalResourceId: props.imageName, Data: attribute("importTaskId", taskId) };
    },

    async isComplete(event) {
      if (event.RequestType === "Delete") return { IsComplete: true };
      const props = readImportProperties(event.ResourceProperties);

      const image = await api.findImage(props.imageName);
      if (image) return imageProgress(props.imageName, image);

      const taskId = event.Data?.[ATTRIBUTES.importTaskId];
      if (typeof taskId !== "string") {
        throw new ImageImportError(`the AMI ${props.imageName} was there when the import started and is gone now`, {
          hint: "deploy again to import the image anew",
        });
      }
      const task = await api.describeImportTask(taskId);
      if (task.status === "active") return { IsComplete: false };
      if (task.status !== "completed" || !task.snapshotId) {
        throw new ImageImportError(`snapshot import ${taskId} ended ${task.status}: ${task.message ?? "no message"}`, {
          hint: "check the image file format and the VM Import service role's access to the bucket, then deploy again",
          details: { taskId, status: task.status },
        });
      }
      try {
        await api.registerImage(registerImageInput(props, task.snapshotId));
      } catch (error) {
        // A poll that raced an earlier one: the next poll finds the image by name.
        if (!(error instanceof Error && error.name === "InvalidAMIName.Duplicate")) throw error;
      }
      return { IsComplete: false };
    },
  };
}

function attribute(name: keyof typeof ATTRIBUTES, value: string): Record<string, string> {
  return { [ATTRIBUTES[name]]: value };
}

function imageProgress(name: string, image: FoundImage): IsCompleteResult {
  if (image.state === "available") return { IsComplete: true, Data: attribute("imageId", image.imageId) };
  if (image.state === "pending") return { IsComplete: false };
  throw new ImageImportError(`the AMI ${name} (${image.imageId}) is ${image.state}: ${image.reason ?? "no reason given"}`, {
    hint: "deregister it, then deploy again to register the snapshot anew",
    details: { imageId: image.imageId, state: image.state },
  });
}

// Lambda entry points (`index.onEvent`, `index.isComplete`); the client is made on first use.
let handlers: ReturnType<typeof createImportHandlers> | undefined;
const live = () => (handlers ??= createImportHandlers(ec2ImportApi(new EC2Client({}))));

export const onEvent = (event: ImportEvent): Promise<OnEventResult> => live().onEvent(event);
export const isComplete = (event: ImportEvent): Promise<IsCompleteResult> => live().isComplete(event);
