// Pack smoke test: pack every public package as it is published, install the tarballs into a fresh
// consumer project OUTSIDE the workspace (so nothing resolves from the repo's node_modules), and run a
// real call through each adapter from plain ESM, plain CJS and an esbuild bundle; type-check the
// published declarations with moduleResolution node16, bundler and node10 (`module: commonjs`).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { consumerCompilerOptions, consumerVersions, createConsumerApp, root, sh } from "./lib/consumer.mjs";

const here = join(root, "scripts/smoke");
// The testing README's npm form of the gateway pin: npm's nested override (pnpm's "a>b" key is an
// invalid package name to npm). The install below must resolve the gateway's @hono/node-server to it.
const HONO_PIN = "1.13.5";
const versions = consumerVersions();
const hostSdks = [
  "openai",
  "ai",
  "@ai-sdk/openai",
  "@langchain/core",
  "@langchain/openai",
  "@portkey-ai/gateway",
];
const tools = ["typescript", "esbuild", "@types/node"];
const { app, writePackageJson } = createConsumerApp("tagalong-smoke-", {
  extra: Object.fromEntries([...hostSdks, ...tools].map((name) => [name, versions[name]])),
  overrides: { "@portkey-ai/gateway": { "@hono/node-server": HONO_PIN } },
});

let failed = false;
try {
  // Node's lookup from the gateway's folder: its own node_modules first, then the app's.
  const honoAt = [join(app, "node_modules/@portkey-ai/gateway"), app]
    .map((dir) => join(dir, "node_modules/@hono/node-server/package.json"))
    .find((path) => existsSync(path));
  const hono = honoAt ? JSON.parse(readFileSync(honoAt, "utf8")).version : "nothing";
  if (hono === HONO_PIN) console.log(`npm override: @portkey-ai/gateway gets @hono/node-server ${hono}: ok`);
  else {
    console.error(`npm override: @portkey-ai/gateway gets @hono/node-server ${hono}, not ${HONO_PIN}: FAIL`);
    failed = true;
  }

  const scenario = readFileSync(join(here, "scenario.js"), "utf8");
  const modules = [
    ["createTagalong, portkey, requesty, withMetadata", "@tagalong/core"],
    ["createRecorder", "@tagalong/testing"],
    ["wrapOpenAI", "@tagalong/openai"],
    ["tagalongMiddleware, tagalongFetch", "@tagalong/ai-sdk"],
    ["TagalongCallbackHandler, withTagalong", "@tagalong/langchain"],
    ["generateText, wrapLanguageModel", "ai"],
    ["createOpenAI", "@ai-sdk/openai"],
    ["ChatOpenAI", "@langchain/openai"],
  ];
  const langchain = `const ChatModel = withTagalong(ChatOpenAI);
    const chat = new ChatModel({ model: "gpt-4o-mini", apiKey: "sk-smoke", configuration: { baseURL: rec.openaiBaseURL }, callbacks: [new TagalongCallbackHandler(tagalong)] });
    await chat.invoke("hi", { metadata: { tagalong: { user: "smoke_langchain" } } });
    expectUser("langchain", "smoke_langchain");`;
  const build = (variant, imports) =>
    scenario
      .replace("/*@IMPORTS@*/", imports)
      .replace("/*@LANGCHAIN@*/", langchain)
      .replace('"/*@VARIANT@*/"', JSON.stringify(variant));
  const esmImports = [
    ...modules.map(([names, from]) => `import { ${names} } from "${from}";`),
    'import OpenAI from "openai";',
  ].join("\n");
  const cjsImports = [
    ...modules.map(([names, from]) => `const { ${names} } = require("${from}");`),
    'const { OpenAI } = require("openai");',
  ].join("\n");
  writeFileSync(join(app, "esm.mjs"), build("esm", esmImports));
  writeFileSync(join(app, "cjs.cjs"), build("cjs", cjsImports));
  for (const entry of ["esm.mjs", "cjs.cjs"]) {
    try {
      sh(process.execPath, [entry], app);
    } catch {
      failed = true;
    }
  }
  try {
    sh(
      join(app, "node_modules/.bin/esbuild"),
      [
        "esm.mjs",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--outfile=bundle.mjs",
        "--log-level=warning",
        "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      ],
      app,
    );
    sh(process.execPath, ["bundle.mjs"], app, { SMOKE_VARIANT: "esbuild bundle" });
  } catch {
    failed = true;
  }
  writeFileSync(join(app, "types.ts"), readFileSync(join(here, "types.ts"), "utf8"));
  for (const resolution of ["node16", "bundler", "node10"]) {
    const tsconfig = {
      compilerOptions: consumerCompilerOptions(resolution),
      files: ["types.ts"],
    };
    writeFileSync(join(app, `tsconfig.${resolution}.json`), JSON.stringify(tsconfig));
    writePackageJson({ type: "module" });
    try {
      sh(join(app, "node_modules/.bin/tsc"), ["-p", `tsconfig.${resolution}.json`], app);
      console.log(`typescript (moduleResolution ${resolution}): ok`);
    } catch {
      console.error(`typescript (moduleResolution ${resolution}): FAIL`);
      failed = true;
    }
  }
} finally {
  if (!process.env.TAGALONG_KEEP_SMOKE) rmSync(app, { recursive: true, force: true });
  else console.log(`smoke: kept ${app}`);
}
if (failed) process.exit(1);
