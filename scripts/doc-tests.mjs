// Doc tests: every TypeScript and JavaScript block of every README.md and docs/**/*.md compiles and
// runs as a newcomer would copy it.
//
// 0. Every relative link in those files resolves, and no doc or source refers to reference files kept
//    outside the repository.
// 1. The blocks are extracted (scripts/doc-tests/extract.mjs) and written into a fresh project outside
//    the workspace that has the packed packages installed by npm, as a user installs them (the pack
//    smoke test's machinery, scripts/lib/consumer.mjs), with the third-party packages the blocks import.
// 2. They are type-checked in strict mode with moduleResolution "bundler" and "node16". A block with
//    `/// <reference types="..." />` (a Worker's types) gets a program of its own.
// 3. Every block that is a program runs on Node against @tagalong/testing's recorder on 127.0.0.1:
//    OPENAI_BASE_URL, OPENAI_API_KEY and PROMPTLAYER_API_KEY are set (the OpenAI SDK and the AI SDK read
//    them), and requests to the vendors' public hosts (api.openai.com, api.portkey.ai,
//    router.requesty.ai, api.promptlayer.com) are answered by the recorder; any other host is refused.
//    A block passes when it exits 0, writes nothing to stderr (so a warning, or a DeliveryError handed
//    to onError, fails it) and the recorder saw no vendor rule broken.
//
// Markers in the info string: ```ts fragment=<name> checks (and runs) the block after
// scripts/doc-tests/contexts/<name>.ts, which declares what the fragment uses (the fragment itself opens
// with a comment telling the reader what it takes from elsewhere) (a context whose first
// line is `// doc-test: types-only` only declares, so its fragments are type-checked only);
// ```ts norun type-checks a block that is not a program to run (a Worker, a route handler);
// ```ts resolution=bundler checks it with that resolution only (Next.js projects never use node16);
// ```ts warns runs a block that shows a Tagalong warning on purpose: stderr must hold that warning only.
// Failures name the Markdown file and line. `--links-only` stops before installing; `--no-run` skips
// step 3; `--keep` keeps the project.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  docFiles,
  extractBlocks,
  importedPackages,
  referencedTypes,
  sourceFiles,
} from "./doc-tests/extract.mjs";
import { consumerCompilerOptions, consumerVersions, createConsumerApp, root } from "./lib/consumer.mjs";

// Loaded before each block: the vendors' public hosts are answered by the recorder, and nothing else
// leaves 127.0.0.1.
const PRELOAD = `import http from "node:http";
import https from "node:https";
import net from "node:net";
const hosts = JSON.parse(process.env.DOC_TEST_HOSTS);
// node:https requests to a vendor's host (PromptLayer's deliveries on Node) go to the recorder, over http.
const httpsRequest = https.request;
https.request = function request(...args) {
  // (url[, options], callback) or (options, callback), the options naming hostname and path.
  const first = args[0];
  const url = typeof first === "string" || first instanceof URL ? new URL(first) : undefined;
  const given = url ? args[1] : first;
  const hostname = url ? url.hostname : (given?.hostname ?? given?.host);
  const to = typeof hostname === "string" ? hosts[hostname] : undefined;
  if (!to) return httpsRequest.apply(this, args);
  const path = url ? url.pathname + url.search : (given.path ?? "/");
  const options = typeof given === "object" && given !== null && !(given instanceof URL) ? { ...given } : {};
  for (const key of ["agent", "protocol", "hostname", "host", "port", "path", "auth"]) delete options[key];
  const callback = args.find((a) => typeof a === "function");
  return http.request(new URL(path, to), options, callback);
};
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
// Below fetch: any socket (node:http, an OTLP exporter, undici) may connect to loopback only.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === "object" && first !== null ? first : { host: typeof args[1] === "string" ? args[1] : undefined };
  const host = options.host ?? "localhost";
  const ipc = typeof options.path === "string" && options.port === undefined && options.host === undefined;
  if (!ipc && !LOOPBACK.has(host)) {
    process.nextTick(() => this.destroy(new Error("doc tests: no network beyond 127.0.0.1 (" + host + ")")));
    return this;
  }
  return connect.apply(this, args);
};
const realFetch = globalThis.fetch;
globalThis.fetch = function fetch(input, init) {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return realFetch(input, init);
  const to = hosts[url.hostname];
  if (!to) return Promise.reject(new TypeError("doc tests: no network beyond the recorder (" + url.host + ")"));
  const target = to + url.pathname + url.search;
  if (typeof input === "string" || input instanceof URL) return realFetch(target, init);
  return realFetch(new Request(target, input), init);
};
`;

const args = new Set(process.argv.slice(2));
const contextsDir = join(root, "scripts/doc-tests/contexts");
const failures = [];
const fail = (where, message) => failures.push(`${where}: ${message}`);

// --- 1. the blocks and what they need -------------------------------------------------------------
const contexts = new Map(
  readdirSync(contextsDir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => {
      // The fragment goes where the context has a `// @fragment` line, or at its end.
      const [before, after = ""] = readFileSync(join(contextsDir, f), "utf8").split(/^\/\/ @fragment\n/m);
      const head = before.replace(/\n$/, "");
      const context = { head, tail: after, lines: head.split("\n").length };
      context.typesOnly = head.startsWith("// doc-test: types-only");
      return [f.slice(0, -3), context];
    }),
);
const blocks = docFiles(root).flatMap((file) => extractBlocks(readFileSync(join(root, file), "utf8"), file));
for (const block of blocks) {
  block.where = `${block.file}:${block.line}`;
  block.slug = `${block.file.replace(/[^A-Za-z0-9]+/g, "_")}_L${block.line}`;
  const name = block.attrs.fragment;
  if (name === true) fail(block.where, "fragment= needs a context name");
  block.context = typeof name === "string" ? contexts.get(name) : undefined;
  if (typeof name === "string" && !block.context) {
    fail(block.where, `fragment=${name}: no scripts/doc-tests/contexts/${name}.ts`);
  }
  // The marker is invisible once rendered: the reader learns from a first comment what the block takes.
  if (name && !block.code.trimStart().startsWith("//")) {
    fail(block.where, "a fragment opens with a comment saying what it uses from elsewhere");
  }
  block.source = block.context
    ? `${block.context.head}\n${block.code}\n${block.context.tail}`
    : `${block.code}\n`;
  block.offset = block.context ? block.context.lines : 0;
  block.run = !block.attrs.norun && !block.context?.typesOnly;
}

// --- 0. links: every relative link of the docs resolves inside the repository, and nothing points at
// reference files that live outside it (the project's docs say it in their own words) ---------------
const OUTSIDE = new RegExp(`\\b(${["API", "FORMATS", "STYLE"].join("|")})\\.md\\b|\\.\\./shared/`);
for (const file of docFiles(root)) {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  lines.forEach((text, i) => {
    if (OUTSIDE.test(text)) fail(`${file}:${i + 1}`, "refers to a file outside the repository");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split("#")[0];
      if (!target || /^[a-z]+:/i.test(m[1])) continue;
      if (!existsSync(join(root, dirname(file), target)))
        fail(`${file}:${i + 1}`, `links to ${m[1]}, which does not exist`);
    }
  });
}
for (const file of sourceFiles(root)) {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  lines.forEach((text, i) => {
    if (OUTSIDE.test(text)) fail(`${file}:${i + 1}`, "refers to a file outside the repository");
  });
}

const versions = consumerVersions();
const needed = new Set(["typescript", "esbuild", "@types/node"]);
// The peer a subpath needs at run time, which the block cannot import itself.
const PEERS = { "@tagalong/testing/portkey-gateway": "@portkey-ai/gateway" };
for (const block of blocks) {
  for (const [subpath, peer] of Object.entries(PEERS)) if (block.source.includes(subpath)) needed.add(peer);
  for (const name of importedPackages(block.source)) {
    if (name.startsWith("@tagalong/")) continue;
    if (versions[name]) needed.add(name);
    else
      fail(block.where, `imports "${name}", which the doc tests do not install (scripts/lib/consumer.mjs)`);
  }
}
if (failures.length || args.has("--links-only")) finish();

const { app } = createConsumerApp("tagalong-docs-", {
  type: "module",
  extra: Object.fromEntries([...needed].map((name) => [name, versions[name]])),
  // As the testing README tells npm users (the gateway's streams need this @hono/node-server).
  overrides: needed.has("@portkey-ai/gateway")
    ? { "@portkey-ai/gateway": { "@hono/node-server": "1.13.5" } }
    : undefined,
});

try {
  // --- 2. type-check: strict, bundler and node16 ---------------------------------------------------
  mkdirSync(join(app, "blocks"));
  const programs = new Map();
  for (const block of blocks) {
    const ext = block.lang === "ts" ? "ts" : "js";
    block.path = `blocks/${block.slug}.${ext}`;
    writeFileSync(join(app, block.path), block.source);
    const refs = referencedTypes(block.source).sort().join(",");
    if (!programs.has(refs)) programs.set(refs, []);
    programs.get(refs).push(block.path);
  }
  const tsc = join(app, "node_modules/typescript/bin/tsc");
  let checks = 0;
  for (const [refs, files] of programs) {
    for (const resolution of ["bundler", "node16"]) {
      // `resolution=bundler`: a block for a framework whose projects always resolve that way (Next.js).
      const checked = files.filter((path) => {
        const only = blocks.find((b) => b.path === path).attrs.resolution;
        return only === undefined || only === resolution;
      });
      if (checked.length === 0) continue;
      const compilerOptions = {
        ...consumerCompilerOptions(resolution),
        moduleDetection: "force",
        allowJs: true,
        checkJs: true,
        // A block that names its runtime's types (a Worker's) gets those instead of Node's and the DOM's.
        ...(refs ? { types: [], lib: ["es2022"] } : {}),
      };
      const config = `tsconfig.${resolution}.${checks}.json`;
      writeFileSync(join(app, config), JSON.stringify({ compilerOptions, files: checked }, null, 2));
      const { code, stdout } = await run(process.execPath, [tsc, "-p", config, "--pretty", "false"], app);
      checks++;
      if (code === 0) continue;
      reportTsc(stdout, resolution);
    }
  }
  console.log(
    `doc tests: ${blocks.length} blocks from ${new Set(blocks.map((b) => b.file)).size} files type-checked (bundler, node16)`,
  );

  // --- 3. run the programs against the recorder ---------------------------------------------------
  if (!args.has("--no-run")) await runBlocks();
} finally {
  if (args.has("--keep")) console.log(`doc tests: kept ${app}`);
  else rmSync(app, { recursive: true, force: true });
}
finish();

function reportTsc(stdout, resolution) {
  let last = null;
  for (const line of stdout.split("\n")) {
    const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (!m) {
      if (line.trim() && last) last.message += `\n    ${line.trim()}`;
      else if (line.trim()) fail(`tsc (${resolution})`, line);
      continue;
    }
    const block = blocks.find((b) => b.path === m[1]);
    const n = Number(m[2]);
    let where;
    if (!block) where = `${m[1]}:${n}`;
    else if (n <= block.offset)
      where = `scripts/doc-tests/contexts/${block.attrs.fragment}.ts:${n} (context of ${block.where})`;
    else if (n - block.offset > block.code.split("\n").length) {
      where = `scripts/doc-tests/contexts/${block.attrs.fragment}.ts, after the fragment (context of ${block.where})`;
    } else where = `${block.file}:${block.line + n - 1 - block.offset}:${m[3]}`;
    last = { where, message: `[${resolution}] ${m[4]}` };
    failures.push(last);
  }
}

async function runBlocks() {
  const testing = await import(pathToFileURL(join(app, "node_modules/@tagalong/testing/dist/index.js")).href);
  const esbuild = await import(pathToFileURL(join(app, "node_modules/esbuild/lib/main.js")).href);
  const rec = await testing.createRecorder();
  writeFileSync(join(app, "preload.mjs"), PRELOAD);
  const origin = new URL(rec.url).origin;
  const env = {
    ...process.env,
    OPENAI_BASE_URL: rec.openaiBaseURL,
    OPENAI_API_KEY: "sk-doc-test-model-key",
    PROMPTLAYER_API_KEY: "pl-doc-test-key",
    DOC_TEST_HOSTS: JSON.stringify({
      "api.openai.com": origin,
      "api.portkey.ai": origin,
      "router.requesty.ai": origin,
      "api.promptlayer.com": origin,
    }),
  };
  for (const key of ["TAGALONG_LOG_LEVEL", "DEBUG", "NODE_OPTIONS"]) delete env[key];
  let ran = 0;
  try {
    for (const block of blocks.filter((b) => b.run)) {
      const out = join(app, block.path.replace(/\.(ts|js)$/, ".mjs"));
      try {
        const { code } = await esbuild.transform(block.source, {
          loader: block.lang === "ts" ? "ts" : "js",
          format: "esm",
          target: "node20",
          sourcemap: "inline",
          sourcefile: block.path,
        });
        writeFileSync(out, code);
      } catch (error) {
        fail(block.where, `esbuild: ${error.message}`);
        continue;
      }
      const result = await run(
        process.execPath,
        ["--enable-source-maps", "--import", "./preload.mjs", out],
        app,
        env,
        60_000,
      );
      ran++;
      const problems = [];
      if (result.timedOut) problems.push("did not finish within 60 s");
      else if (result.code !== 0) problems.push(`exited with ${result.code ?? result.signal}`);
      // `warns`: the block shows Tagalong warning on purpose; its stderr must be that and only that.
      const stderr = result.stderr.trim();
      const onlyOurs = stderr !== "" && stderr.split("\n").every((line) => line.startsWith("[tagalong] "));
      if (block.attrs.warns && !onlyOurs)
        problems.push("was to print a Tagalong warning (warns), and did not");
      if (stderr && !(block.attrs.warns && onlyOurs)) {
        problems.push(
          `wrote to stderr:\n    ${mapStack(result.stderr, block).trim().split("\n").join("\n    ")}`,
        );
      }
      for (const v of rec.violations()) problems.push(`the recorder saw a vendor rule broken: ${v}`);
      if (problems.length) fail(`${block.where} (run)`, problems.join("\n  "));
      await rec.reset();
    }
  } finally {
    await rec.close();
  }
  console.log(`doc tests: ${ran} blocks ran against the recorder`);
}

// Stack lines point into the scratch file; name the Markdown line instead.
function mapStack(text, block) {
  return text.replaceAll(new RegExp(`[^\\s(]*${block.slug}\\.(?:ts|mjs):(\\d+)(?::\\d+)?`, "g"), (_, n) => {
    const line = Number(n) - block.offset;
    if (line < 1 || line > block.code.split("\n").length) return `the context ${block.attrs.fragment}`;
    return `${block.file}:${block.line + line - 1}`;
  });
}

function run(cmd, argv, cwd, env = process.env, timeoutMs = 0) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, timeoutMs)
      : undefined;
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function finish() {
  if (failures.length === 0) {
    console.log("doc tests: ok");
    process.exit(0);
  }
  console.error(`doc tests: ${failures.length} problem(s)`);
  for (const f of failures) console.error(typeof f === "string" ? f : `${f.where}: ${f.message}`);
  process.exit(1);
}
