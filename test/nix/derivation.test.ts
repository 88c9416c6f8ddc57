import { describe, expect, it } from "vitest";
import { isFixedOutput, parseDerivation } from "../../agent/nix/derivation.js";
import { NixCommandError } from "../../agent/nix/errors.js";

const FOD = String.raw`Derive([("out","/nix/store/p-src","sha256","0f3c")],[],[],"x86_64-linux","/bin/sh",["-c","printf 'a\"b\\n' > $out"],[("name","src"),("out","/nix/store/p-src")])`;
const PLAIN = `Derive([("dev","/nix/store/d-x-dev","",""),("out","/nix/store/o-x","","")],[("/nix/store/s.drv",["out"])],["/nix/store/b-builder.sh"],"x86_64-linux","/bin/sh",[],[("text","line1\\nline2\\ttab")])`;

describe("parseDerivation", () => {
  it("reads outputs, inputs and environment, unescaping strings", () => {
    const drv = parseDerivation("/nix/store/x.drv", PLAIN);
    expect(drv.outputs).toEqual({ dev: { path: "/nix/store/d-x-dev", hashAlgo: "", hash: "" }, out: { path: "/nix/store/o-x", hashAlgo: "", hash: "" } });
    expect(drv.inputDrvs).toEqual({ "/nix/store/s.drv": ["out"] });
    expect(drv.inputSrcs).toEqual(["/nix/store/b-builder.sh"]);
    expect(drv.env.text).toBe("line1\nline2\ttab");
    expect(isFixedOutput(drv)).toBe(false);
  });

  it("recognises a fixed-output derivation (a download) and escaped quotes", () => {
    const drv = parseDerivation("/nix/store/src.drv", FOD);
    expect(isFixedOutput(drv)).toBe(true);
    expect(drv.env.name).toBe("src");
  });

  it("refuses what is not an ATerm derivation", () => {
    expect(() => parseDerivation("/x.drv", "{}")).toThrow(NixCommandError);
    expect(() => parseDerivation("/x.drv", 'Derive([("out","/p"')).toThrow(/cannot parse derivation/);
  });
});
