// Proves the release step: in a scratch copy of the tracked tree, `changeset version` must bump every
// public package a changeset names, write its CHANGELOG.md with the changeset's text, and leave the
// private workspace packages (examples, e2e, bench, compat) untouched.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const scratch = mkdtempSync(join(tmpdir(), "tagalong-release-"));
try {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\n")
    .filter((f) => f && existsSync(join(root, f)));
  for (const file of files) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    cpSync(join(root, file), join(scratch, file));
  }
  symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"));

  const changesets = readdirSync(join(scratch, ".changeset")).filter(
    (f) => f.endsWith(".md") && f !== "README.md",
  );
  const named = new Map(); // package -> summaries
  for (const file of changesets) {
    const text = readFileSync(join(scratch, ".changeset", file), "utf8");
    const [, front, body] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? [];
    if (!front) throw new Error(`.changeset/${file}: no front matter`);
    for (const line of front.split("\n")) {
      const pkg = /^"?([^":]+)"?:\s*(major|minor|patch)$/.exec(line.trim())?.[1];
      if (!pkg) continue;
      named.set(pkg, [...(named.get(pkg) ?? []), body.trim().split("\n")[0]]);
    }
  }

  execFileSync(join(root, "node_modules/.bin/changeset"), ["version"], { cwd: scratch, stdio: "inherit" });

  const problems = [];
  const dirs = ["packages", "examples", "e2e", "bench", "compat"].flatMap((d) => {
    const p = join(scratch, d);
    if (!existsSync(p)) return [];
    if (existsSync(join(p, "package.json"))) return [p];
    return readdirSync(p)
      .map((x) => join(p, x))
      .filter((x) => existsSync(join(x, "package.json")));
  });
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const before = JSON.parse(
      readFileSync(join(root, dir.slice(scratch.length + 1), "package.json"), "utf8"),
    );
    const changelog = join(dir, "CHANGELOG.md");
    if (pkg.private) {
      if (pkg.version !== before.version) problems.push(`${pkg.name}: private, but its version changed`);
      if (existsSync(changelog) && !existsSync(join(root, dir.slice(scratch.length + 1), "CHANGELOG.md"))) {
        problems.push(`${pkg.name}: private, but got a CHANGELOG.md`);
      }
      continue;
    }
    const summaries = named.get(pkg.name);
    if (!summaries) continue;
    if (pkg.version === before.version)
      problems.push(`${pkg.name}: named in a changeset, but its version stayed ${pkg.version}`);
    const log = existsSync(changelog) ? readFileSync(changelog, "utf8") : "";
    for (const line of summaries)
      if (!log.includes(line)) problems.push(`${pkg.name}: CHANGELOG.md lacks "${line.slice(0, 60)}"`);
    console.log(
      `ok  ${pkg.name}: ${before.version} -> ${pkg.version}, ${summaries.length} changelog entr${summaries.length === 1 ? "y" : "ies"}`,
    );
  }
  const left = readdirSync(join(scratch, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
  if (left.length) problems.push(`changesets not consumed: ${left.join(", ")}`);
  if (problems.length) {
    console.error(problems.join("\n"));
    process.exit(1);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
