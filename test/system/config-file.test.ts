import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256, writeFileAtomic } from "../../agent/fs/atomic-write.js";
import { installConfig, restoreConfig, snapshotConfig } from "../../agent/system/config-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nixboot-config-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("creates the directory, replaces the file and leaves no temporary file", async () => {
    const path = join(dir, "etc", "nixos", "configuration.nix");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    expect(await readFile(path, "utf8")).toBe("two");
    expect(await readdir(join(dir, "etc", "nixos"))).toEqual(["configuration.nix"]);
  });
});

describe("installConfig and restoreConfig", () => {
  it("keeps the previous content as .previous and restores it from there", async () => {
    const path = join(dir, "configuration.nix");
    await writeFile(path, "old");
    const before = await snapshotConfig(path);
    expect(before).toEqual({ exists: true, sha256: sha256("old") });
    await installConfig(path, "new");
    expect(await readFile(path, "utf8")).toBe("new");
    expect(await readFile(`${path}.previous`, "utf8")).toBe("old");
    await restoreConfig(path, before);
    expect(await readFile(path, "utf8")).toBe("old");
  });

  it("writing the same content again keeps .previous as it was", async () => {
    const path = join(dir, "configuration.nix");
    await writeFile(path, "old");
    await installConfig(path, "new");
    await installConfig(path, "new");
    expect(await readFile(`${path}.previous`, "utf8")).toBe("old");
  });

  it("removes a file that did not exist before", async () => {
    const path = join(dir, "configuration.nix");
    const before = await snapshotConfig(path);
    await installConfig(path, "new");
    await restoreConfig(path, before);
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses to guess when no copy of the previous content is left", async () => {
    const path = join(dir, "configuration.nix");
    await writeFile(path, "edited by hand");
    await expect(restoreConfig(path, { exists: true, sha256: sha256("old") })).rejects.toThrow(/does not hold the previous content/);
  });
});
