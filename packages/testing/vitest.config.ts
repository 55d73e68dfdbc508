import { defineProject } from "vitest/config";

export default defineProject({
  // Timeouts as in e2e: the suites start servers and child processes and import SDKs, which a loaded
  // CI machine can make several times slower than here; a timeout only catches a hang.
  test: {
    name: "testing",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
