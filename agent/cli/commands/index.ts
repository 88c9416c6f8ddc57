import type { CommandSpec } from "../command.js";
import { classifyCommand } from "./classify.js";
import { fetchCommand } from "./fetch.js";
import { statusCommand } from "./status.js";

/** Every CLI command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [fetchCommand, classifyCommand, statusCommand];
