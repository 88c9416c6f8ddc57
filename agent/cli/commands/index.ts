import type { CommandSpec } from "../command.js";
import { applyCommand } from "./apply.js";
import { classifyCommand } from "./classify.js";
import { fetchCommand } from "./fetch.js";
import { planCommand } from "./plan.js";
import { runCommand } from "./run.js";
import { statusCommand } from "./status.js";
import { validateCommand } from "./validate.js";

/** Every CLI command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [runCommand, statusCommand, fetchCommand, classifyCommand, validateCommand, planCommand, applyCommand];
