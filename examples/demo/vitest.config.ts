import { defineProject } from "vitest/config";

export default defineProject({
  // The end-to-end run spawns the demo: a cold start of tsx, the gateway and LangChain on a busy machine.
  test: { name: "demo", include: ["test/**/*.test.ts"], testTimeout: 90_000 },
});
