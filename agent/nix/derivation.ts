import { readFile } from "node:fs/promises";
import { NixCommandError } from "./errors.js";

/** The parts of a store derivation (`.drv`, ATerm) nixboot reads. */
export interface Derivation {
  path: string;
  outputs: Record<string, { path: string; hashAlgo: string; hash: string }>;
  inputDrvs: Record<string, string[]>;
  inputSrcs: string[];
  platform: string;
  builder: string;
  env: Record<string, string>;
}

type Term = string | Term[];

/**
 * Reads a derivation straight from the store: cheaper than a Nix command per `.drv`,
 * and the ATerm format has been stable since Nix 1.x.
 */
export async function readDerivation(drvPath: string): Promise<Derivation> {
  let text: string;
  try {
    text = await readFile(drvPath, "utf8");
  } catch (error) {
    throw new NixCommandError(`cannot read derivation ${drvPath}: ${(error as Error).message}`, { cause: error });
  }
  return parseDerivation(drvPath, text);
}

export function parseDerivation(drvPath: string, text: string): Derivation {
  if (!text.startsWith("Derive(")) throw new NixCommandError(`${drvPath} is not a derivation in the ATerm format this Nix writes`);
  let terms: Term[];
  try {
    terms = new AtermReader(text, "Derive".length).read() as Term[];
  } catch (error) {
    throw new NixCommandError(`cannot parse derivation ${drvPath}: ${(error as Error).message}`, { cause: error });
  }
  const [outputs, inputDrvs, inputSrcs, platform, builder, , env] = terms as [Term[][], Term[][], string[], string, string, string[], Term[][]];
  return {
    path: drvPath,
    outputs: Object.fromEntries(outputs.map(([name, path, hashAlgo, hash]) => [name as string, { path: path as string, hashAlgo: hashAlgo as string, hash: hash as string }])),
    inputDrvs: Object.fromEntries(inputDrvs.map(([path, names]) => [path as string, names as string[]])),
    inputSrcs,
    platform,
    builder,
    env: Object.fromEntries(env.map(([key, value]) => [key as string, value as string])),
  };
}

/** A fixed-output derivation declares its output's hash in advance: to Nix it is a download (fetchurl, fetchgit...). */
export function isFixedOutput(derivation: Derivation): boolean {
  return Object.values(derivation.outputs).some((output) => output.hash !== "");
}

class AtermReader {
  constructor(
    private readonly text: string,
    private pos: number,
  ) {}

  read(): Term {
    const char = this.text[this.pos];
    if (char === '"') return this.string();
    if (char === "[" || char === "(") return this.list(char === "[" ? "]" : ")");
    throw new Error(`unexpected ${JSON.stringify(char)} at offset ${this.pos}`);
  }

  private list(close: string): Term[] {
    this.pos += 1;
    const items: Term[] = [];
    if (this.text[this.pos] === close) {
      this.pos += 1;
      return items;
    }
    for (;;) {
      items.push(this.read());
      const char = this.text[this.pos];
      this.pos += 1;
      if (char === close) return items;
      if (char !== ",") throw new Error(`expected , or ${close} at offset ${this.pos - 1}`);
    }
  }

  private string(): string {
    let out = "";
    for (this.pos += 1; this.pos < this.text.length; this.pos += 1) {
      const char = this.text[this.pos]!;
      if (char === '"') {
        this.pos += 1;
        return out;
      }
      if (char === "\\") {
        this.pos += 1;
        const escaped = this.text[this.pos]!;
        out += escaped === "n" ? "\n" : escaped === "t" ? "\t" : escaped === "r" ? "\r" : escaped;
      } else {
        out += char;
      }
    }
    throw new Error("unterminated string");
  }
}
