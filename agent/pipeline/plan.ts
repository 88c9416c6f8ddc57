import { planRealisation } from "../nix/plan.js";
import { candidateInfo, loadCandidate, type Candidate } from "./candidate.js";
import { parseAndEvaluate, temporaryRoot } from "./evaluate-candidate.js";
import { asNixbootError, RunContext } from "./run-context.js";
import type { CandidateInput, PipelineDeps, PlanReport } from "./types.js";

/**
 * `nixboot plan`: parse, evaluate and plan (what would be built or fetched, whether the policy
 * allows it) without building or changing anything. A refusal is in `plan` and in `error`
 * (PolicyRefusedError).
 */
export async function plan(input: CandidateInput, deps: PipelineDeps): Promise<PlanReport> {
  const run = new RunContext(deps);
  let candidate: Candidate | undefined;
  let planned: PlanReport["plan"];
  const root = temporaryRoot(run);
  try {
    candidate = await loadCandidate(input);
    const evaluation = await parseAndEvaluate(run, candidate, root.path);
    planned = await run.step("plan", () =>
      planRealisation(run.nix, { ...evaluation, policy: run.settings.policy, timeoutMs: run.settings.evalTimeoutSeconds * 1000 }),
    );
    return { candidate: candidateInfo(candidate), plan: planned, ...run.totals(), ...(planned.refusal ? { error: planned.refusal } : {}) };
  } catch (error) {
    return { ...(candidate ? { candidate: candidateInfo(candidate) } : {}), ...(planned ? { plan: planned } : {}), ...run.totals(), error: asNixbootError(error) };
  } finally {
    await root.remove();
  }
}
