// node --test scripts/doc-tests/: the block extraction the doc tests rely on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { extractBlocks, importedPackages, referencedTypes } from "./extract.mjs";

test("finds ts/js blocks with their first code line and attributes, and skips other languages", () => {
  const md = [
    "# Title", // 1
    "```sh", // 2
    "npm i x", // 3
    "```", // 4
    "```ts fragment=recorder norun", // 5
    'rec.fail({ path: "/x" });', // 6
    "```", // 7
    "  ```typescript", // 8
    "  const a = 1;", // 9
    "    const b = 2;", // 10
    "  ```", // 11
    "````js", // 12
    "```", // 13: inside a four-backtick fence
    "````", // 14
  ].join("\n");
  const blocks = extractBlocks(md, "X.md");
  assert.deepEqual(
    blocks.map((b) => [b.line, b.lang, b.attrs, b.code]),
    [
      [6, "ts", { fragment: "recorder", norun: true }, 'rec.fail({ path: "/x" });'],
      [9, "ts", {}, "const a = 1;\n  const b = 2;"],
      [13, "js", {}, "```"],
    ],
  );
});

test("an unclosed block is an error naming its line", () => {
  assert.throws(
    () => extractBlocks("text\n```ts\nconst a = 1;\n", "Y.md"),
    /Y\.md:2: a code block is never closed/,
  );
});

test("names the packages a block imports, by package, not by subpath", () => {
  const code = [
    '/// <reference types="@cloudflare/workers-types" />',
    'import OpenAI from "openai";',
    'import { ChatPromptTemplate } from "@langchain/core/prompts";',
    'import { env } from "cloudflare:workers";',
    'import { readFile } from "node:fs/promises";',
    'import "./local.js";',
    'const m = await import("ai");',
  ].join("\n");
  assert.deepEqual(importedPackages(code).sort(), [
    "@cloudflare/workers-types",
    "@langchain/core",
    "ai",
    "openai",
  ]);
  assert.deepEqual(referencedTypes(code), ["@cloudflare/workers-types"]);
});
