// Every public export of every package has a JSDoc summary, and the entry points a newcomer starts
// from have an @example. Reads each package's entry points as its package.json `exports` names them
// (the sources; the published .d.ts keep the same comments) with the TypeScript compiler API, follows
// re-exports to the declaration, and counts the names without a summary. Exits 1 if any.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dirname, "..");
const ENTRY_POINTS_WITH_EXAMPLE = {
  "@tagalong/core": ["createTagalong", "withMetadata"],
  "@tagalong/openai": ["wrapOpenAI"],
  "@tagalong/ai-sdk": ["tagalongMiddleware"],
  "@tagalong/langchain": ["TagalongCallbackHandler", "withTagalong"],
  "@tagalong/testing": ["createRecorder"],
};

const packages = [];
for (const dir of readdirSync(join(root, "packages"))) {
  const pkg = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
  if (pkg.private) continue;
  const entries = Object.entries(pkg.exports ?? {})
    .filter(([, target]) => typeof target === "object" && target.types?.endsWith(".ts"))
    .map(([subpath, target]) => ({
      name: subpath === "." ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, "")}`,
      file: join(root, "packages", dir, target.types),
    }));
  packages.push({ name: pkg.name, entries });
}

const program = ts.createProgram(
  packages.flatMap((p) => p.entries.map((e) => e.file)),
  {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  },
);
const checker = program.getTypeChecker();

const summaryOf = (symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();

let missing = 0;
for (const pkg of packages) {
  let total = 0;
  const undocumented = [];
  const seen = new Set();
  for (const entry of pkg.entries) {
    const source = program.getSourceFile(entry.file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${entry.file}: not a module`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      // A name several entry points export is one declaration: count it once.
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      total++;
      if (!summaryOf(symbol)) undocumented.push(exported.name);
      const needsExample = ENTRY_POINTS_WITH_EXAMPLE[entry.name]?.includes(exported.name);
      if (needsExample && !symbol.getJsDocTags(checker).some((tag) => tag.name === "example")) {
        undocumented.push(`${exported.name} (no @example)`);
      }
    }
  }
  missing += undocumented.length;
  const entries = pkg.entries.map((e) => e.name).join(", ");
  if (undocumented.length === 0) console.log(`jsdoc: ${pkg.name}: ${total} exports documented (${entries})`);
  else
    console.error(
      `jsdoc: ${pkg.name}: ${undocumented.length} of ${total} need a summary: ${undocumented.join(", ")}`,
    );
}
if (missing > 0) process.exit(1);
