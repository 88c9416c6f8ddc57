import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real Nix builds and real HTTP servers: give them room, but no timed assertions.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Nix store operations are serialised by Nix itself; two workers match the machine.
    maxWorkers: 2,
  },
});
