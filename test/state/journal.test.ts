import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JournalCorruptError } from "../../agent/state/errors.js";
import { emptyJournal, readJournal, readPendingConfig, removePendingConfig, writeJournal, writePendingConfig, type Journal } from "../../agent/state/journal.js";

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "nixboot-journal-"));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

describe("journal", () => {
  it("is empty when missing", async () => {
    expect(await readJournal(stateDir)).toEqual(emptyJournal());
  });

  it("round-trips an in-flight switch, written atomically", async () => {
    const journal: Journal = {
      ...emptyJournal(),
      inFlight: {
        mode: "switch",
        step: "health",
        candidateSha256: "a".repeat(64),
        entry: "<nixpkgs/nixos>",
        drvPath: "/nix/store/x.drv",
        systemPath: "/nix/store/x",
        previousSystem: "/nix/store/p",
        previousGeneration: 3,
        previousConfig: { exists: true, sha256: "b".repeat(64) },
        profile: "/nix/var/nix/profiles/system",
        configPath: "/etc/nixos/configuration.nix",
        currentSystemLink: "/run/current-system",
        startedAt: "2025-01-01T00:00:00.000Z",
        updatedAt: "2025-01-01T00:00:01.000Z",
      },
    };
    await writeJournal(stateDir, journal);
    expect(await readJournal(stateDir)).toEqual(journal);
    expect(await readdir(stateDir)).toEqual(["journal.json"]);
  });

  it.each([["not JSON", "{"], ["another document", '{"version": 2}']])("refuses a journal that is %s", async (_, text) => {
    await writeFile(join(stateDir, "journal.json"), text);
    await expect(readJournal(stateDir)).rejects.toBeInstanceOf(JournalCorruptError);
  });

  it("keeps the pending configuration privately until removed", async () => {
    await writePendingConfig(stateDir, "{ }");
    expect(await readPendingConfig(stateDir)).toBe("{ }");
    await removePendingConfig(stateDir);
    await removePendingConfig(stateDir);
    expect(await readPendingConfig(stateDir)).toBeNull();
  });
});
