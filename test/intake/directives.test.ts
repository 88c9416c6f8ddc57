import { describe, expect, it } from "vitest";
import { MAX_DIRECTIVE_SECONDS, parseDirectives, readUserdata, UserdataDirectiveError } from "../../agent/intake/index.js";
import { DIRECTIVE_KEYS } from "../../agent/settings/definitions.js";
import { bytes, expectUserdataError, mime, NIX_CONFIG, SCRIPT } from "./fixtures/userdata.js";

const SECRET = "hunter2-do-not-print";
const read = (text: string) => readUserdata(bytes(text));
const directivesOf = (header: string) => read(`${header}\n${NIX_CONFIG}`).directives;

describe("good directives", () => {
  it("reads every key, typed as the settings they override", () => {
    const header = [
      "# nixboot: policy=substitute mode=boot",
      '# nixboot: health=systemd health=unit:nginx.service health=http:http://127.0.0.1:8080/health?full=1 health="cmd:curl -fsS localhost"',
      "# nixboot: health-timeout=120 allow-degraded=true build-timeout=5400",
    ].join("\n");
    expect(directivesOf(header)).toEqual({
      policy: "substitute",
      mode: "boot",
      healthChecks: ["systemd", "unit:nginx.service", "http:http://127.0.0.1:8080/health?full=1", "cmd:curl -fsS localhost"],
      healthTimeoutSeconds: 120,
      allowDegraded: true,
      buildTimeoutSeconds: 5400,
    });
  });

  it("maps to exactly the setting keys DIRECTIVE_KEYS names", () => {
    const all = directivesOf("# nixboot: policy=any mode=switch health=none health-timeout=1 allow-degraded=false build-timeout=1");
    expect(Object.keys(all).sort()).toEqual(Object.values(DIRECTIVE_KEYS).sort());
    expect(all.allowDegraded).toBe(false);
  });

  it("unescapes quoted values", () => {
    expect(directivesOf('# nixboot: health="cmd:test \\"$(cat /x)\\" = ok"').healthChecks).toEqual(['cmd:test "$(cat /x)" = ok']);
  });

  it("reads the whole leading comment block: comments, channels, SSH_HOST_* and blank lines in between, any case and spacing", () => {
    const header = `# my server\n### https://nixos.org/channels/nixos-25.05 nixos\n\n#nixboot:mode=boot\nSSH_HOST_X=1\n  #   NixBoot :   policy=any  `;
    expect(directivesOf(header)).toEqual({ mode: "boot", policy: "any" });
  });

  it("ignores # nixboot: lines after the first line of Nix, and says which", () => {
    const intake = read(`# nixboot: mode=boot\n{ ... }:\n# nixboot: policy=any\n{ }\n`);
    expect(intake.directives).toEqual({ mode: "boot" });
    expect(intake.reasons.join("\n")).toMatch(/line\(s\) 3 ignored/);
  });

  it("has no directives when there are none", () => {
    expect(read(NIX_CONFIG).directives).toEqual({});
  });

  it("reads directives in empty userdata too (validated, though nothing is applied)", () => {
    expect(read("# nixboot: mode=boot\n").directives).toEqual({ mode: "boot" });
  });

  it("reads directives right after the #! line of a script, and only there", () => {
    const intake = read(`#!/bin/sh\n# nixboot: mode=boot\n# nixboot: health=none\n# a comment\n# nixboot: policy=any\necho\n`);
    expect(intake).toMatchObject({ class: "script", directives: { mode: "boot", healthChecks: ["none"] } });
    expect(intake.reasons.join("\n")).toMatch(/line\(s\) 5 ignored/);
    expect(read(`#!/bin/sh\n\n# nixboot: mode=boot\n`).directives).toEqual({});
  });

  it("reads directives and channels of a MIME text/x-nix part", () => {
    const nix = `### https://nixos.org/channels/nixos-25.05 nixos\n# nixboot: policy=any health=unit:app.service\n${NIX_CONFIG}`;
    const intake = read(mime([{ type: "text/x-nix", body: nix }, { type: "text/x-shellscript", body: `#!/bin/sh\n# nixboot: mode=boot\n` }]));
    expect(intake.directives).toEqual({ policy: "any", healthChecks: ["unit:app.service"] });
    expect(intake.channels).toEqual([{ name: "nixos", url: "https://nixos.org/channels/nixos-25.05" }]);
  });

  it("reads directives of a MIME script part when there is no configuration", () => {
    expect(read(mime([{ type: "text/x-shellscript", body: `${SCRIPT.split("\n")[0]}\n# nixboot: mode=boot\necho\n` }])).directives).toEqual({ mode: "boot" });
  });

  it("can be called on numbered lines directly", () => {
    expect(parseDirectives([{ number: 7, text: "# nixboot: policy=baked" }, { number: 8, text: "# other" }])).toEqual({ policy: "baked" });
  });
});

describe("bad directives", () => {
  it("rejects an unknown key, listing the known keys", () => {
    const error = expectUserdataError(() => directivesOf(`# comment\n# nixboot: policy=any polcy=${SECRET}`), UserdataDirectiveError, SECRET);
    expect(error.message).toContain('unknown directive key "polcy"');
    expect(error.details.line).toBe(2);
    for (const key of Object.keys(DIRECTIVE_KEYS)) expect(error.hint).toContain(key);
  });

  it.each<[string, string, RegExp]>([
    ["policy outside the enum", `policy=${SECRET}`, /one of baked, substitute, any/],
    ["mode outside the enum", `mode=${SECRET}`, /one of switch, boot/],
    ["an unknown health kind", `health=${SECRET}`, /systemd, none, unit:NAME/],
    ["a health URL that is not http(s)", `health=http:ftp://${SECRET}/`, /http:\/\/ or https:\/\//],
    ["a health URL that is no URL", `health=http:${SECRET}`, /http:\/\/ or https:\/\//],
    ["a bare URL as health check", `health=http://${SECRET}/`, /http:\/\/ or https:\/\//],
    ["a unit name starting with -", `health=unit:--${SECRET}`, /systemd unit name/],
    ["a unit name with a space", `health="unit:a ${SECRET}"`, /systemd unit name/],
    ["an empty command", 'health="cmd:  "', /needs a command/],
    ["zero seconds", "health-timeout=0", /between 1 and/],
    ["negative seconds", "build-timeout=-5", /whole number/],
    ["fractional seconds", "health-timeout=1.5", /whole number/],
    ["seconds past the timer range", `build-timeout=${MAX_DIRECTIVE_SECONDS + 1}`, /between 1 and/],
    ["allow-degraded not true/false", "allow-degraded=yes", /true or false/],
    ["a repeated key", "mode=boot mode=switch", /given twice/],
    ["an unterminated quote", `health="cmd:${SECRET}`, /unterminated/],
    ["a stray quote", `health=cmd:"${SECRET}"`, /stray quote/],
    ["text after a closing quote", `health="cmd:x"${SECRET}`, /space after the quoted value/],
    ["a key without =", `policy ${SECRET}`, /followed by =value/],
    ["an empty value", "policy= mode=boot", /empty value/],
    ["a key that is not a word", `=${SECRET}`, /expected a key/],
    ["no key at all", "", /no key=value/],
  ])("rejects %s", (_, pairs, message) => {
    const error = expectUserdataError(() => directivesOf(`# header\n# nixboot: ${pairs}`), UserdataDirectiveError, SECRET);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^userdata, line 2: /);
    expect(error.details.line).toBe(2);
  });

  it("accepts the largest timer-safe seconds", () => {
    expect(directivesOf(`# nixboot: build-timeout=${MAX_DIRECTIVE_SECONDS}`).buildTimeoutSeconds).toBe(MAX_DIRECTIVE_SECONDS);
  });

  it("rejects health=none next to other checks, across lines", () => {
    const error = expectUserdataError(() => directivesOf("# nixboot: health=none\n# nixboot: health=systemd"), UserdataDirectiveError);
    expect(error.message).toMatch(/health=none cannot be combined/);
  });

  it("rejects bad directives in a script header and in a MIME part, naming where", () => {
    expectUserdataError(() => read(`#!/bin/sh\n# nixboot: mode=${SECRET}\n`), UserdataDirectiveError, SECRET);
    const error = expectUserdataError(() => read(mime([{ type: "text/x-nix", body: `# nixboot: policy=${SECRET}\n${NIX_CONFIG}` }])), UserdataDirectiveError, SECRET);
    expect(error.message).toMatch(/^the text\/x-nix part, line 1: /);
  });
});
