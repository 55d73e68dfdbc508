import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "e2e", "examples/demo", "compat/edge"],
  },
});
