// Finds the documentation's code blocks: every ```ts / ```typescript / ```js / ```javascript block of
// every README.md and docs/**/*.md (not node_modules, dist or CHANGELOGs), with the Markdown line of
// its first code line and the attributes of its info string:
//   ```ts fragment=<context>   checked (and run) inside scripts/doc-tests/contexts/<context>.ts
//   ```ts norun                type-checked only (a Worker, a route handler: not a program to run)
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const LANGS = new Map([
  ["ts", "ts"],
  ["typescript", "ts"],
  ["js", "js"],
  ["javascript", "js"],
]);
const SKIP_DIRS = new Set(["node_modules", "dist", ".git", ".cache", "coverage", ".changeset"]);

/** Every README.md and every Markdown file under a docs/ folder, relative to `root`, sorted. */
export function docFiles(root) {
  const out = [];
  const walk = (dir, inDocs) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name), inDocs || entry.name === "docs");
      } else if (entry.name === "README.md" || (inDocs && entry.name.endsWith(".md"))) {
        if (entry.name !== "CHANGELOG.md") out.push(relative(root, join(dir, entry.name)));
      }
    }
  };
  walk(root, false);
  return out.sort();
}

/** The repository's TypeScript and JavaScript sources (not node_modules, dist or generated files). */
export function sourceFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name));
      } else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name))
        out.push(relative(root, join(dir, entry.name)));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * The code blocks of one Markdown text. `line` is the 1-based line of the block's first code line;
 * `attrs` holds the info string's words after the language (`norun: true`, `fragment: "name"`).
 */
export function extractBlocks(markdown, file) {
  const blocks = [];
  const lines = markdown.split("\n");
  let open = null;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (open) {
      if (text.trim().startsWith(open.fence) && text.trim().replace(/[`~]/g, "") === "") {
        if (open.lang)
          blocks.push({
            file,
            line: open.line,
            lang: open.lang,
            attrs: open.attrs,
            code: open.body.join("\n"),
          });
        open = null;
      } else open.body.push(text.slice(Math.min(open.indent, text.length - text.trimStart().length)));
      continue;
    }
    const m = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(text);
    if (!m) continue;
    const attrs = {};
    for (const word of m[4].split(/\s+/).filter(Boolean)) {
      const [key, value] = word.split("=");
      attrs[key] = value ?? true;
    }
    open = {
      fence: m[2],
      indent: m[1].length,
      lang: LANGS.get(m[3].toLowerCase()),
      attrs,
      line: i + 2,
      body: [],
    };
  }
  if (open?.lang) throw new Error(`${file}:${open.line - 1}: a code block is never closed`);
  return blocks;
}

/** The `/// <reference types="x" />` packages of a block: they need a program of their own. */
export function referencedTypes(code) {
  return [...code.matchAll(/^\/\/\/\s*<reference\s+types=["']([^"']+)["']/gm)].map((m) => m[1]);
}

/** The bare package names a block uses: its imports, `import()`s, `require()`s and type references. */
export function importedPackages(code) {
  const names = new Set();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"'./][^"']*)["']/gm;
  for (const m of [...code.matchAll(re), ...referencedTypes(code).map((t) => [t, t])]) {
    const spec = m[1];
    if (spec.startsWith("node:") || spec.includes(":")) continue;
    names.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
  }
  return [...names];
}
