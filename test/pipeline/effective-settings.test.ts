import { describe, expect, it } from "vitest";
import { effectiveSettings } from "../../agent/pipeline/index.js";
import { defaultSettings } from "../../agent/settings/load.js";

describe("effectiveSettings", () => {
  const settings = { ...defaultSettings(), healthChecks: ["systemd", "unit:sshd"] };

  it("lets directives override the settings they name", () => {
    const effective = effectiveSettings(settings, { policy: "any", mode: "boot", healthTimeoutSeconds: 30, allowDegraded: true, buildTimeoutSeconds: 60 });
    expect(effective).toMatchObject({ policy: "any", mode: "boot", healthTimeoutSeconds: 30, allowDegraded: true, buildTimeoutSeconds: 60 });
    expect(settings.policy).toBe("baked");
  });

  it("adds a launch's health checks to the settings' (once each)", () => {
    expect(effectiveSettings(settings, { healthChecks: ["unit:sshd", "http:http://127.0.0.1/health"] }).healthChecks).toEqual(["systemd", "unit:sshd", "http:http://127.0.0.1/health"]);
  });

  it("turns every check off for a launch with health=none alone", () => {
    expect(effectiveSettings(settings, { healthChecks: ["none"] }).healthChecks).toEqual(["none"]);
  });

  it("keeps the settings without directives", () => {
    expect(effectiveSettings(settings)).toEqual(settings);
  });
});
