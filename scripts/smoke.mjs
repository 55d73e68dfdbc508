// Pack smoke test: pack every public package as it is published, install the tarballs into a fresh
// consumer project OUTSIDE the workspace (so nothing resolves from the repo's node_modules), and run a
// real call through each adapter from plain ESM, plain CJS and an esbuild bundle; type-check the
// published declarations with moduleResolution node16 and bundler.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const here = join(root, "scripts/smoke");
const app = mkdtempSync(join(tmpdir(), "tagalong-smoke-"));
const packs = join(app, "packs");
mkdirSync(packs);
const sh = (cmd, args, cwd, extra = {}) =>
  execFileSync(cmd, args, {
    cwd,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...extra },
  });

let failed = false;
try {
  const deps = {};
  for (const dir of readdirSync(join(root, "packages"))) {
    const pkg = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
    if (pkg.private) continue;
    const out = execFileSync("pnpm", ["pack", "--pack-destination", packs], {
      cwd: join(root, "packages", dir),
      encoding: "utf8",
    });
    deps[pkg.name] = `file:${out.trim().split("\n").pop()}`;
  }
  // The host SDKs a user would install (the newest majors that run on Node 20), and the tools.
  Object.assign(deps, {
    openai: "^6.9.0",
    ai: "^6.0.0",
    "@ai-sdk/openai": "^3.0.0",
    "@langchain/core": "^1.0.0",
    "@langchain/openai": JSON.parse(readFileSync(join(root, "packages/langchain/package.json"), "utf8"))
      .devDependencies["@langchain/openai"],
    typescript: "~5.9.3",
    esbuild: "^0.25.0",
    "@types/node": "^20.19.0",
  });
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "smoke-app", private: true, dependencies: deps }, null, 2),
  );
  console.log(`smoke: installing the packed tarballs into ${app}`);
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], app);

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
  for (const resolution of ["node16", "bundler"]) {
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: "es2022",
        module: resolution === "node16" ? "node16" : "esnext",
        moduleResolution: resolution,
        esModuleInterop: true,
        types: ["node"],
      },
      files: ["types.ts"],
    };
    writeFileSync(join(app, `tsconfig.${resolution}.json`), JSON.stringify(tsconfig));
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "smoke-app", private: true, type: "module", dependencies: deps }, null, 2),
    );
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
