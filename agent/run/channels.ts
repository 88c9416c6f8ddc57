import { join } from "node:path";
import type { CommandRunner } from "../exec/runner.js";
import type { Channel } from "../intake/index.js";
import type { Logger } from "../log/logger.js";
import { PolicyRefusedError } from "../nix/errors.js";
import type { Policy } from "../settings/definitions.js";
import { CommandFailedError } from "../exec/errors.js";

const CHANNEL_TIMEOUT_MS = 10 * 60_000;

/**
 * amazon-init compatibility: `### URL NAME` lines subscribe the machine to Nix
 * channels before the switch. Channels are downloads, so policy `baked`
 * refuses them outright; otherwise they are added and updated as amazon-init did.
 */
export async function applyChannels(options: {
  channels: readonly Channel[];
  policy: Policy;
  nixBinDir: string;
  runner: CommandRunner;
  logger: Logger;
}): Promise<void> {
  const { channels, policy } = options;
  if (channels.length === 0) return;
  if (policy === "baked") {
    throw new PolicyRefusedError(`userdata names ${channels.length} Nix channel(s) (${channels.map((channel) => channel.name).join(", ")}), and policy "baked" allows no downloads`, {
      hint: "remove the `###` channel lines (the baked image carries nixpkgs), or allow downloads with `# nixboot: policy=substitute`",
      details: { channels: channels.map((channel) => channel.name) },
    });
  }
  const nixChannel = options.nixBinDir === "" ? "nix-channel" : join(options.nixBinDir, "nix-channel");
  for (const channel of channels) {
    await run(options, [nixChannel, "--add", channel.url, channel.name]);
  }
  await run(options, [nixChannel, "--update"]);
  options.logger.info({ channels: channels.map((channel) => channel.name) }, "nix channels added and updated");
}

async function run(options: { runner: CommandRunner; logger: Logger }, argv: string[]): Promise<void> {
  const result = await options.runner.run(argv, { timeoutMs: CHANNEL_TIMEOUT_MS, onLine: (line) => options.logger.debug(line) });
  if (result.exitCode !== 0) {
    throw new CommandFailedError(`${argv.slice(0, 2).join(" ")} failed with status ${result.exitCode}: ${result.stderr.trim().split("\n").slice(-3).join(" ")}`, {
      hint: "check that the channel URL is reachable from the instance",
    });
  }
}
