import { describe, expect, it } from "vitest";
import { parseDryRun } from "../../agent/nix/dry-run.js";

const A = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a.drv";
const B = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b.drv";
const P = "/nix/store/pppppppppppppppppppppppppppppppp-p";
const Q = "/nix/store/qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq-q";

describe("parseDryRun", () => {
  it("reads the plural forms with counts and sizes (Nix 2.4+)", () => {
    const text = `these 2 derivations will be built:\n  ${A}\n  ${B}\nthese 2 paths will be fetched (1.50 MiB download, 6.25 MiB unpacked):\n  ${P}\n  ${Q}\n`;
    expect(parseDryRun(text)).toEqual({ toBuild: [A, B], toFetch: [P, Q], unknown: [], downloadBytes: 1572864, unpackedBytes: 6553600 });
  });

  it("reads the singular forms", () => {
    const text = `this derivation will be built:\n  ${A}\nthis path will be fetched (0.02 MiB download, 0.10 MiB unpacked):\n  ${P}\n`;
    expect(parseDryRun(text)).toMatchObject({ toBuild: [A], toFetch: [P], downloadBytes: 20972, unpackedBytes: 104858 });
  });

  it("reads the forms without counts (Nix 2.3) and other units", () => {
    const text = `these derivations will be built:\n  ${A}\nthese paths will be fetched (512.00 KiB download, 2.00 GiB unpacked):\n  ${P}\n`;
    expect(parseDryRun(text)).toMatchObject({ toBuild: [A], toFetch: [P], downloadBytes: 524288, unpackedBytes: 2147483648 });
  });

  it("collects paths Nix cannot build and ignores unrelated lines", () => {
    const text = `warning: ignoring untrusted substituter\ndon't know how to build these paths:\n  ${P}\nsomething else\n  ${Q}\n`;
    expect(parseDryRun(text)).toEqual({ toBuild: [], toFetch: [], unknown: [P] });
  });

  it("is empty when there is nothing to do", () => {
    expect(parseDryRun("")).toEqual({ toBuild: [], toFetch: [], unknown: [] });
  });
});
