import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CANDIDATE_FILE } from "../nix/evaluate.js";
import { sha256 } from "../fs/atomic-write.js";
import { CandidateReadError } from "./errors.js";
import type { CandidateInfo, CandidateInput } from "./types.js";

export interface Candidate extends CandidateInfo {
  text: string;
}

/** Reads the candidate (file or text) and hashes it. */
export async function loadCandidate(input: CandidateInput): Promise<Candidate> {
  let text: string;
  let label: string;
  if ("file" in input) {
    label = input.file;
    try {
      text = await readFile(input.file, "utf8");
    } catch (error) {
      throw new CandidateReadError(`cannot read the configuration ${input.file}: ${(error as Error).message}`, { cause: error });
    }
  } else {
    text = input.text;
    label = input.label ?? "userdata";
  }
  return { text, label, sha256: sha256(text), sizeBytes: Buffer.byteLength(text) };
}

/**
 * The candidate's private copy: alone in a fresh 0700 directory under STATE/candidates, so
 * restricted evaluation can reach nothing else next to it.
 */
export interface StagedCandidate {
  dir: string;
  path: string;
  remove(): Promise<void>;
}

export async function stageCandidate(candidate: Candidate, stateDir: string): Promise<StagedCandidate> {
  const parent = join(stateDir, "candidates");
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(parent, "candidate-"));
  await chmod(dir, 0o700);
  const path = join(dir, CANDIDATE_FILE);
  await writeFile(path, candidate.text, { mode: 0o600 });
  return { dir, path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function candidateInfo(candidate: Candidate): CandidateInfo {
  return { label: candidate.label, sha256: candidate.sha256, sizeBytes: candidate.sizeBytes };
}
