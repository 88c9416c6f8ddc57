import { describe, expect, it } from "vitest";
import { readUserdata, UserdataChannelError } from "../../agent/intake/index.js";
import { bytes, expectUserdataError, NIX_CONFIG, SCRIPT } from "./fixtures/userdata.js";

const SECRET = "hunter2-do-not-print";
const read = (text: string) => readUserdata(bytes(text));
const CHANNEL = "### https://nixos.org/channels/nixos-25.05 nixos";

describe("empty", () => {
  it.each([
    ["absent (IMDS 404)", null, /no userdata/],
    ["zero bytes", bytes(""), /blank/],
    ["only whitespace", bytes(" \n\t\r\n\n"), /blank/],
  ])("is empty when %s", (_, raw, reason) => {
    const intake = readUserdata(raw);
    expect(intake.class).toBe("empty");
    expect(intake.reasons.join("\n")).toMatch(reason);
    expect(intake.configuration).toBeUndefined();
    expect(intake.script).toBeUndefined();
  });

  it("is empty with only comments, ### channel lines and SSH_HOST_* lines, and counts each", () => {
    const intake = read(`# a comment\n  # an indented comment\n${CHANNEL}\nSSH_HOST_RSA_KEY=AAAA${SECRET}\nSSH_HOST_ED25519_KEY_PUB=x\n\n`);
    expect(intake.class).toBe("empty");
    expect(intake.reasons.join("\n")).toContain("comments (2), ### channel lines (1) or SSH_HOST_* lines (2)");
    expect(intake.reasons.join("\n")).not.toContain(SECRET);
    expect(intake.channels).toEqual([{ name: "nixos", url: "https://nixos.org/channels/nixos-25.05" }]);
    expect(intake.configuration).toBeUndefined();
  });
});

describe("script", () => {
  it("is a script when the text starts with #!", () => {
    const intake = read(SCRIPT);
    expect(intake).toMatchObject({ class: "script", script: SCRIPT, channels: [], directives: {} });
    expect(intake.configuration).toBeUndefined();
    expect(intake.reasons.join("\n")).toMatch(/starts with #!/);
  });

  it("is not a script when #! is not the very first two characters", () => {
    expect(read(` #!/bin/sh\nls\n`).class).toBe("nix");
    expect(read(`\n#!/bin/sh\nls\n`).class).toBe("nix");
  });

  it("ignores ### lines in a script (amazon-init ran it as it is)", () => {
    expect(read(`#!/bin/sh\n${CHANNEL}\n### not a channel at all\necho\n`).channels).toEqual([]);
  });
});

describe("nix", () => {
  it("is nix when anything but comments and SSH_HOST_* lines remains, and keeps the whole text", () => {
    const text = `# my web server\n${CHANNEL}\n${NIX_CONFIG}`;
    const intake = read(text);
    expect(intake).toMatchObject({ class: "nix", configuration: text });
    expect(intake.script).toBeUndefined();
    expect(intake.reasons).toContain("userdata does not start with #!, so it is not a script");
    expect(intake.reasons).toContain("userdata: 5 line(s) of Nix remain after setting aside comments, ### channel lines and SSH_HOST_* lines");
  });

  it("keeps SSH_HOST_* lines in the configuration and says so; only column-0 SSH_HOST_ lines are set aside", () => {
    const text = `SSH_HOST_DSA_KEY=${SECRET}\n${NIX_CONFIG}`;
    const intake = read(text);
    expect(intake.configuration).toBe(text);
    expect(intake.reasons.join("\n")).toMatch(/1 SSH_HOST_\* line\(s\) stay in the configuration/);
    expect(intake.reasons.join("\n")).not.toContain(SECRET);
    expect(read("  SSH_HOST_DSA_KEY=x\n").class).toBe("nix");
  });

  it("flags #cloud-config userdata, which amazon-init also took as Nix", () => {
    const intake = read("#cloud-config\npackages: [git]\n");
    expect(intake.class).toBe("nix");
    expect(intake.reasons.join("\n")).toMatch(/#cloud-config/);
  });

  it("handles CRLF line endings", () => {
    const intake = read(`# c\r\n${CHANNEL}\r\n{ }: { }\r\n`);
    expect(intake).toMatchObject({ class: "nix", channels: [{ name: "nixos", url: "https://nixos.org/channels/nixos-25.05" }] });
  });
});

describe("### channel lines", () => {
  it("parses URL then name, anywhere at column 0, with any spacing", () => {
    const text = `${CHANNEL}\n{ }: {\n###https://example.com/channels/home-manager   home-manager  \n}\n`;
    expect(read(text).channels).toEqual([
      { name: "nixos", url: "https://nixos.org/channels/nixos-25.05" },
      { name: "home-manager", url: "https://example.com/channels/home-manager" },
    ]);
  });

  it("treats ####-headings, a bare ### and indented ### lines as comments", () => {
    const intake = read(`#### Networking ####\n###\n  ### not a channel\n${NIX_CONFIG}`);
    expect(intake.channels).toEqual([]);
    expect(intake.class).toBe("nix");
  });

  it.each([
    ["a name without URL", `### nixos`, /2 words/],
    ["three words", `### https://nixos.org/channels/nixos-25.05 nixos ${SECRET}`, /found 3/],
    ["a URL that is not http(s) or file", `### ${SECRET}:/x nixos`, /not an http/],
    ["a relative URL", `### nixos-25.05 nixos`, /not an http/],
    ["a bad name", `### https://nixos.org/channels/nixos-25.05 ${SECRET}/x`, /channel name/],
    ["a repeated name", `${CHANNEL}\n### https://example.com/other nixos`, /already used/],
  ])("rejects a ### line with %s, naming the line", (_, lines, message) => {
    const error = expectUserdataError(() => read(`# header\n${lines}\n${NIX_CONFIG}`), UserdataChannelError, SECRET);
    expect(error.message).toMatch(message);
    expect(error.details.line).toBe(lines.includes("\n") ? 3 : 2);
  });

  it("rejects a malformed ### line even when the rest is empty", () => {
    expectUserdataError(() => read("### nixos\n"), UserdataChannelError);
  });
});

describe("reasons", () => {
  it("never quote the body", () => {
    for (const text of [`# ${SECRET}\n{ x = "${SECRET}"; }\n`, `#!/bin/${SECRET}\n`, `# ${SECRET}\n`]) {
      expect(read(text).reasons.join("\n")).not.toContain(SECRET);
    }
  });
});
