/**
 * The pipeline's public API: what the CLI (validate, plan, apply, run) calls.
 * Every function takes `PipelineDeps` and resolves to a report; failures are in `report.error`
 * (a NixbootError: map it with `exitStatusFor`), never thrown.
 */
export { apply } from "./apply.js";
export { plan } from "./plan.js";
export { recover } from "./recover.js";
export { validate } from "./validate.js";
export { effectiveSettings } from "./run-context.js";
export type {
  ApplyOutcome,
  ApplyReport,
  CandidateInfo,
  CandidateInput,
  Directives,
  PipelineDeps,
  PlanReport,
  RecoverOutcome,
  RecoverReport,
  StepEvent,
  StepName,
  StepRecord,
  ValidateReport,
} from "./types.js";
export type { Plan } from "../nix/plan.js";
export type { CheckResult } from "../system/health.js";
