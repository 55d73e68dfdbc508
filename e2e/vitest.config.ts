import { defineProject } from "vitest/config";

export default defineProject({
  // Each file starts its own gateway process (about 1 s); the budget covers a cold start on a busy machine.
  test: { name: "e2e", include: ["test/**/*.test.ts"], testTimeout: 20_000, hookTimeout: 30_000 },
});
