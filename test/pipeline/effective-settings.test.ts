import { describe, expect, it } from "vitest";
import { effectiveSettings } from "../../agent/pipeline/index.js";
import { RUN_BUDGET_SECONDS, worstCaseRunSeconds } from "../../agent/pipeline/run-context.js";
import { defaultSettings } from "../../agent/settings/load.js";
import { memoryLogger } from "../fixture/machine.js";

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

  describe("caps raised timeouts so a run stays within the unit's TimeoutStartSec", () => {
    it("computes the worst case as the unit does: 5950 s with the defaults, within the 6600 s budget", () => {
      expect(worstCaseRunSeconds(defaultSettings())).toBe(5950);
      expect(RUN_BUDGET_SECONDS).toBe(6600);
    });

    it("caps a raise at what the budget leaves, and logs it", () => {
      const { logger, records } = memoryLogger();
      const effective = effectiveSettings(settings, { buildTimeoutSeconds: 5400 }, logger);
      expect(effective.buildTimeoutSeconds).toBe(4250);
      expect(worstCaseRunSeconds(effective)).toBe(RUN_BUDGET_SECONDS);
      expect(records).toContainEqual(expect.objectContaining({ level: 40, key: "buildTimeoutSeconds", requested: 5400, capped: 4250, budgetSeconds: 6600 }));
    });

    it("keeps a raise that fits, and logs nothing", () => {
      const { logger, records } = memoryLogger();
      expect(effectiveSettings(settings, { buildTimeoutSeconds: 4000, healthTimeoutSeconds: 500 }, logger)).toMatchObject({ buildTimeoutSeconds: 4000, healthTimeoutSeconds: 500 });
      expect(records).toEqual([]);
    });

    it("takes from the health timeout first, never below the settings' values", () => {
      expect(effectiveSettings(settings, { buildTimeoutSeconds: 4000, healthTimeoutSeconds: 900 })).toMatchObject({ buildTimeoutSeconds: 4000, healthTimeoutSeconds: 550 });
      expect(effectiveSettings(settings, { buildTimeoutSeconds: 9000, healthTimeoutSeconds: 900 })).toMatchObject({ buildTimeoutSeconds: 4250, healthTimeoutSeconds: 300 });
    });

    it("allows the settings' own worst case when the operator configured more (the module raised TimeoutStartSec)", () => {
      const large = { ...settings, buildTimeoutSeconds: 7200 };
      expect(effectiveSettings(large, { healthTimeoutSeconds: 600 }).healthTimeoutSeconds).toBe(300);
      expect(effectiveSettings(large, { buildTimeoutSeconds: 7000 }).buildTimeoutSeconds).toBe(7000);
    });
  });
});
