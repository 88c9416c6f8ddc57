import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A tiny EC2 Query-protocol server for the four calls the AMI import makes
 * (form-encoded POST in, `<XResponse>` XML out, `<Response><Errors>` on
 * failure), backed by plain in-memory state the test can inspect and steer.
 */
export interface Ec2ImportState {
  images: { imageId: string; name: string; state: string }[];
  tasks: Map<string, { status: string; snapshotId?: string; message?: string; clientToken: string }>;
  /** Every request's form parameters, in order. */
  requests: URLSearchParams[];
  /** Error to answer the next request of an action with, once. */
  failNext: Map<string, { status: number; code: string; message: string }>;
}

export async function startEc2Server(): Promise<{ endpoint: string; state: Ec2ImportState; close(): Promise<void> }> {
  const state: Ec2ImportState = { images: [], tasks: new Map(), requests: [], failNext: new Map() };
  let counter = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      const params = new URLSearchParams(body);
      state.requests.push(params);
      const action = params.get("Action") ?? "";
      const reply = (status: number, xml: string) => {
        res.writeHead(status, { "content-type": "text/xml;charset=UTF-8" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
      };
      const failure = state.failNext.get(action);
      if (failure) {
        state.failNext.delete(action);
        return reply(failure.status, `<Response><Errors><Error><Code>${failure.code}</Code><Message>${failure.message}</Message></Error></Errors><RequestID>r-${++counter}</RequestID></Response>`);
      }
      const ok = (inner: string) => reply(200, `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-${++counter}</requestId>${inner}</${action}Response>`);
      switch (action) {
        case "DescribeImages": {
          const name = params.get("Filter.1.Value.1");
          const items = state.images.filter((i) => params.get("Owner.1") === "self" && i.name === name);
          return ok(`<imagesSet>${items.map((i) => `<item><imageId>${i.imageId}</imageId><name>${i.name}</name><imageState>${i.state}</imageState></item>`).join("")}</imagesSet>`);
        }
        case "ImportSnapshot": {
          const token = params.get("ClientToken") ?? "";
          const existing = [...state.tasks.entries()].find(([, t]) => t.clientToken === token);
          const id = existing?.[0] ?? `import-snap-${String(++counter).padStart(17, "0")}`;
          if (!existing) state.tasks.set(id, { status: "active", clientToken: token });
          return ok(`<importTaskId>${id}</importTaskId>`);
        }
        case "DescribeImportSnapshotTasks": {
          const id = params.get("ImportTaskId.1") ?? "";
          const task = state.tasks.get(id);
          const detail = task ? `<status>${task.status}</status>${task.snapshotId ? `<snapshotId>${task.snapshotId}</snapshotId>` : ""}${task.message ? `<statusMessage>${task.message}</statusMessage>` : ""}` : "";
          return ok(`<importSnapshotTaskSet>${task ? `<item><importTaskId>${id}</importTaskId><snapshotTaskDetail>${detail}</snapshotTaskDetail></item>` : ""}</importSnapshotTaskSet>`);
        }
        case "RegisterImage": {
          const imageId = `ami-${String(++counter).padStart(17, "0")}`;
          state.images.push({ imageId, name: params.get("Name") ?? "", state: "pending" });
          return ok(`<imageId>${imageId}</imageId>`);
        }
        default:
          return reply(400, `<Response><Errors><Error><Code>InvalidAction</Code><Message>${action}</Message></Error></Errors><RequestID>r</RequestID></Response>`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, state, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
