import { ApiFailure, type Handler } from "./autoscaling.js";
import { ec2Filters } from "./query.js";
import { itemList, leaf } from "./xml.js";

const FILTERS: Record<string, "resourceId" | "key" | "value" | "resourceType"> = {
  "resource-id": "resourceId",
  key: "key",
  value: "value",
  "resource-type": "resourceType",
};

function resourceType(resourceId: string): string {
  if (resourceId.startsWith("i-")) return "instance";
  if (resourceId.startsWith("vol-")) return "volume";
  return "unknown";
}

/** EC2 actions: each returns the body of `<XResponse>` after `<requestId>`. */
export const EC2_HANDLERS: Record<string, Handler> = {
  DescribeTags(params, state) {
    const filters = ec2Filters(params);
    for (const filter of filters) {
      if (!(filter.name in FILTERS)) throw new ApiFailure(400, "InvalidParameterValue", `The filter '${filter.name}' is invalid`);
    }
    const tags = state
      .tags()
      .map((tag) => ({ ...tag, resourceType: resourceType(tag.resourceId) }))
      .filter((tag) => filters.every((f) => f.values.length === 0 || f.values.includes(tag[FILTERS[f.name]!])));
    return itemList(
      "tagSet",
      tags.map((t) => leaf("resourceId", t.resourceId) + leaf("resourceType", t.resourceType) + leaf("key", t.key) + leaf("value", t.value)),
    );
  },
};
