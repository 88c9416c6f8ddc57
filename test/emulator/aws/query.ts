/** Reading Query-protocol parameters: flat `Key=value` pairs with numbered lists. */

export type Params = ReadonlyMap<string, string>;

/** Parses a form-encoded string (body or URL query) into a map; later keys win. */
export function parseForm(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) params.set(key, value);
  return params;
}

/** `Prefix.1`, `Prefix.2`, … in index order (awsQuery: `InstanceIds.member`, ec2Query: `Filter.1.Value`). */
export function numberedList(params: Params, prefix: string): string[] {
  const entries: Array<[number, string]> = [];
  for (const [key, value] of params) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const rest = key.slice(prefix.length + 1);
    if (/^\d+$/.test(rest)) entries.push([Number(rest), value]);
  }
  return entries.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

export interface Ec2Filter {
  name: string;
  values: string[];
}

/** ec2Query filters: `Filter.N.Name` with `Filter.N.Value.M`. */
export function ec2Filters(params: Params): Ec2Filter[] {
  const indexes = new Set<number>();
  for (const key of params.keys()) {
    const match = /^Filter\.(\d+)\.Name$/.exec(key);
    if (match) indexes.add(Number(match[1]));
  }
  return [...indexes]
    .sort((a, b) => a - b)
    .map((i) => ({ name: params.get(`Filter.${i}.Name`) ?? "", values: numberedList(params, `Filter.${i}.Value`) }));
}
