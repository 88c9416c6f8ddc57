import { candidateInfo, loadCandidate, type Candidate } from "./candidate.js";
import { parseAndEvaluate, temporaryRoot } from "./evaluate-candidate.js";
import { asNixbootError, RunContext } from "./run-context.js";
import type { CandidateInput, PipelineDeps, ValidateReport } from "./types.js";

/**
 * `nixboot validate`: parses and evaluates the candidate (restricted) without building or
 * changing anything. Never throws for a verdict: `ok` false and `error` (ConfigSyntaxError,
 * ConfigEvalError, CandidateReadError, SettingsError...) say why.
 */
export async function validate(input: CandidateInput, deps: PipelineDeps): Promise<ValidateReport> {
  const run = new RunContext(deps);
  let candidate: Candidate | undefined;
  const root = temporaryRoot(run);
  try {
    candidate = await loadCandidate(input);
    deps.logger.info({ candidate: candidateInfo(candidate) }, "validating configuration");
    const evaluation = await parseAndEvaluate(run, candidate, root.path);
    return { ok: true, candidate: candidateInfo(candidate), drvPath: evaluation.drvPath, systemPath: evaluation.outPath, ...run.totals() };
  } catch (error) {
    return { ok: false, ...(candidate ? { candidate: candidateInfo(candidate) } : {}), ...run.totals(), error: asNixbootError(error) };
  } finally {
    await root.remove();
  }
}
