import type { ImdsEmulatorState } from "./state.js";

/** A category's value, or the listing of a category directory. */
export interface Resolved {
  body: Buffer;
  contentType: string;
}

const META = "/latest/meta-data/";

function iso(ms: number): string {
  // IMDS prints seconds precision: 2024-01-01T00:00:00Z
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Every leaf the state currently serves, by full path. */
function leaves(state: ImdsEmulatorState, now: number): Map<string, string | Buffer> {
  const map = new Map<string, string | Buffer>();
  if (state.userdata !== null) map.set("/latest/user-data", state.userdata);
  map.set(`${META}ami-id`, state.imageId);
  map.set(`${META}instance-id`, state.instanceId);
  map.set(`${META}instance-type`, state.instanceType);
  map.set(`${META}local-ipv4`, state.privateIp);
  map.set(`${META}placement/availability-zone`, state.availabilityZone);
  map.set(`${META}placement/region`, state.region);
  if (state.tagsEnabled && state.autoScalingGroupName !== null) {
    map.set(`${META}tags/instance/aws:autoscaling:groupName`, state.autoScalingGroupName);
  }
  if (state.targetLifecycleState !== null) {
    map.set(`${META}autoscaling/target-lifecycle-state`, state.targetLifecycleState);
  }
  if (state.role !== null) {
    const role = state.role;
    const updated = iso(now);
    map.set(
      `${META}iam/info`,
      JSON.stringify(
        { Code: "Success", LastUpdated: updated, InstanceProfileArn: role.instanceProfileArn, InstanceProfileId: role.instanceProfileId },
        null,
        2,
      ),
    );
    map.set(
      `${META}iam/security-credentials/${role.name}`,
      JSON.stringify(
        {
          Code: "Success",
          LastUpdated: updated,
          Type: "AWS-HMAC",
          AccessKeyId: role.accessKeyId,
          SecretAccessKey: role.secretAccessKey,
          Token: role.sessionToken,
          Expiration: iso(now + 6 * 3600_000),
        },
        null,
        2,
      ),
    );
  }
  map.set(
    "/latest/dynamic/instance-identity/document",
    JSON.stringify(
      {
        accountId: state.accountId,
        architecture: "x86_64",
        availabilityZone: state.availabilityZone,
        billingProducts: null,
        devpayProductCodes: null,
        marketplaceProductCodes: null,
        imageId: state.imageId,
        instanceId: state.instanceId,
        instanceType: state.instanceType,
        kernelId: null,
        pendingTime: iso(now),
        privateIp: state.privateIp,
        ramdiskId: null,
        region: state.region,
        version: "2017-09-30",
      },
      null,
      2,
    ),
  );
  return map;
}

/**
 * Resolves a GET path against the state: a leaf's bytes, a directory listing
 * (`meta-data/`, `iam/security-credentials/`: one entry a line, directories
 * with a trailing slash, as IMDS lists them), or null for 404.
 */
export function resolveMetadata(state: ImdsEmulatorState, path: string, now: number): Resolved | null {
  const all = leaves(state, now);
  const leaf = all.get(path);
  if (leaf !== undefined) {
    return { body: typeof leaf === "string" ? Buffer.from(leaf, "utf8") : leaf, contentType: "text/plain" };
  }
  const dir = path.endsWith("/") ? path : `${path}/`;
  const entries = new Set<string>();
  for (const key of all.keys()) {
    if (!key.startsWith(dir)) continue;
    const rest = key.slice(dir.length);
    const slash = rest.indexOf("/");
    entries.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  if (entries.size === 0) return null;
  return { body: Buffer.from([...entries].join("\n"), "utf8"), contentType: "text/plain" };
}

/** The XHTML error page IMDS answers with (`404 - Not Found`, `401 - Unauthorized`, ...). */
export function errorPage(status: number, reason: string): Buffer {
  const title = `${status} - ${reason}`;
  return Buffer.from(
    `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${title}</title>
 </head>
 <body>
  <h1>${title}</h1>
 </body>
</html>
`,
    "latin1",
  );
}
