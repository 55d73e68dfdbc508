// One-off: writes the package.json of each package from one template so they cannot drift.
import { writeFileSync } from "node:fs";

const pkgs = {
  core: {
    description:
      "Tagalong core: one LLM-call metadata model with scopes, validation and every gateway's wire form.",
    deps: {},
    peer: {},
    dev: {},
  },
  testing: {
    description:
      "A loopback OpenAI- and PromptLayer-compatible server that records and judges what each destination received.",
    deps: { "@tagalong/core": "workspace:^" },
    peer: {},
    dev: {},
  },
  openai: {
    description: "Wrap an OpenAI client so every call carries Tagalong metadata.",
    deps: { "@tagalong/core": "workspace:^" },
    peer: { openai: ">=5.0.0 <8" },
    dev: {
      "@tagalong/testing": "workspace:*",
      openai: "^6.9.0",
      "openai-v5": "npm:openai@^5.23.0",
      "openai-v7": "npm:openai@^7.0.0",
    },
  },
  "ai-sdk": {
    description: "A Vercel AI SDK middleware that attaches Tagalong metadata to every model call.",
    deps: { "@tagalong/core": "workspace:^" },
    peer: { ai: ">=5.0.0 <8" },
    dev: {
      "@tagalong/testing": "workspace:*",
      ai: "^6.0.0",
      "@ai-sdk/provider": "^3.0.0",
      "@ai-sdk/openai": "^3.0.0",
      "@ai-sdk/openai-compatible": "^2.0.0",
      "@requesty/ai-sdk": "^3.6.1",
      "ai-v5": "npm:ai@^5.0.0",
      "@ai-sdk/openai-v2": "npm:@ai-sdk/openai@^2.0.0",
      "@ai-sdk/openai-compatible-v1": "npm:@ai-sdk/openai-compatible@^1.0.0",
      "@requesty/ai-sdk-v2": "npm:@requesty/ai-sdk@^2.1.2",
      "ai-v7": "npm:ai@^7.0.0",
      "@ai-sdk/openai-v4": "npm:@ai-sdk/openai@^4.0.0",
      "@ai-sdk/openai-compatible-v3": "npm:@ai-sdk/openai-compatible@^3.0.0",
      zod: "^4.1.0",
    },
  },
  langchain: {
    description: "A LangChain callback handler that attaches Tagalong metadata to every LLM call.",
    deps: { "@tagalong/core": "workspace:^" },
    peer: { "@langchain/core": ">=0.3.0 <2" },
    dev: {
      "@tagalong/testing": "workspace:*",
      "@langchain/core": "^1.0.0",
      "@langchain/openai": "^1.0.0",
      "@langchain/langgraph": "^1.0.0",
    },
  },
};
for (const [dir, p] of Object.entries(pkgs)) {
  const name = `@tagalong/${dir}`;
  const exportsDev = {
    ".": { types: "./src/index.ts", default: "./src/index.ts" },
    "./package.json": "./package.json",
  };
  const exportsPub = {
    ".": {
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    },
    "./package.json": "./package.json",
  };
  const json = {
    name,
    version: "0.0.0",
    description: p.description,
    license: "MIT",
    type: "module",
    sideEffects: false,
    files: ["dist", "src", "!src/**/*.test.ts", "!src/**/*.test-d.ts", "README.md", "CHANGELOG.md"],
    exports: exportsDev,
    main: "./dist/index.cjs",
    module: "./dist/index.js",
    types: "./dist/index.d.ts",
    publishConfig: { access: "public", exports: exportsPub },
    engines: { node: ">=20.19" },
    scripts: {
      build: "tsup",
      typecheck: "tsc -p tsconfig.json",
      lint: "publint --strict && attw --pack . --profile node16",
    },
    ...(Object.keys(p.deps).length ? { dependencies: p.deps } : {}),
    ...(Object.keys(p.peer).length ? { peerDependencies: p.peer } : {}),
    ...(Object.keys(p.dev).length ? { devDependencies: p.dev } : {}),
  };
  writeFileSync(`packages/${dir}/package.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(
    `packages/${dir}/tsconfig.json`,
    `${JSON.stringify({ extends: "../../tsconfig.base.json", include: ["src"] }, null, 2)}\n`,
  );
  writeFileSync(
    `packages/${dir}/tsup.config.ts`,
    `import { packageBuild } from "../../tsup.shared";\n\nexport default packageBuild();\n`,
  );
  writeFileSync(
    `packages/${dir}/vitest.config.ts`,
    `import { defineProject } from "vitest/config";\n\nexport default defineProject({\n  test: { name: "${dir}", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },\n});\n`,
  );
}
