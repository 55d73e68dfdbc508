import { defineConfig, type Options } from "tsup";

/** The one build config every package uses: ESM + CJS, with .d.ts and .d.cts. */
export function packageBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    sourcemap: true,
    target: "es2022",
    treeshake: true,
    splitting: false,
    ...overrides,
  });
}
