// The repository documents its own ground: the external contracts the code relies on are in
// docs/contracts.md, and sources, config and fakes cite its numbered sections. These tests keep
// every citation pointing at a section that exists, and keep out references to notes that live
// outside the repository (which readers of the repository cannot open).
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** What the repository tracks: these folders, walked, and these top-level files. */
const DIRS = ["supabase/", "tests/", "bench/", "scripts/", "docs/", ".ci/", "integrations/"];
const TOP_FILES = ["README.md", "deno.json", "import_map.json"];
/** Folders and files that are generated, installed or git-ignored, never tracked. */
const SKIP = new Set([".git", "node_modules", "coverage", ".tmp", ".temp", ".branches", ".env"]);

/**
 * The names and paths of the notes outside the repository, built from parts so that this file
 * does not contain them itself.
 */
const OUTSIDE = [
  ["CONTRACTS", "md"].join("."),
  ["PROVIDERS", "md"].join("."),
  ["..", "shared"].join("/"),
  ["", "work", "shared"].join("/"),
];

/**
 * A citation of the contracts file: its name, then the section, possibly on the next line of a
 * comment. Written with escapes so that this file's own text is not a citation.
 */
const CITATION = /contracts\.md(?:[\s*#]|\/\/)*§(\d+(?:\.\d+)*)/g;

/** A section heading of docs/contracts.md: `## §N Title` or `### §N.M Title`. */
const HEADING = /^(#{2,3}) §(\d+(?:\.\d+)?) \S/;

interface TextFile {
  readonly path: string;
  readonly text: string;
}

/** Every text file of the repository (files holding a NUL byte are binary and skipped). */
async function repositoryFiles(): Promise<TextFile[]> {
  const files: TextFile[] = [];
  const add = async (path: string) => {
    const bytes = await Deno.readFile(new URL(path, ROOT));
    if (bytes.includes(0)) return;
    files.push({ path, text: new TextDecoder().decode(bytes) });
  };
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      if (SKIP.has(entry.name)) continue;
      if (entry.isDirectory) await walk(`${dir}${entry.name}/`);
      else if (entry.isFile) await add(`${dir}${entry.name}`);
    }
  };
  for (const dir of DIRS) await walk(dir);
  for (const file of TOP_FILES) await add(file);
  return files;
}

/** `path:line: text` for each line of `files` where `find` says yes. */
function lines(files: readonly TextFile[], find: (line: string) => boolean): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    text.split("\n").forEach((line, i) => {
      if (find(line)) found.push(`${path}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

/** The sections cited in `text`. */
function citations(text: string): string[] {
  return [...text.matchAll(CITATION)].map((m) => m[1]!);
}

/** The section numbers of docs/contracts.md, in order, with their heading level. */
function sections(markdown: string): { level: 2 | 3; number: string }[] {
  const found: { level: 2 | 3; number: string }[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    const m = HEADING.exec(line);
    if (m) found.push({ level: m[1]!.length as 2 | 3, number: m[2]! });
  }
  return found;
}

const contracts = () => Deno.readTextFile(new URL("docs/contracts.md", ROOT));

Deno.test("docs: nothing refers to notes outside the repository", async () => {
  const files = await repositoryFiles();
  assert.ok(
    files.some((f) => f.path === "docs/contracts.md") &&
      files.some((f) => f.path === "tests/docs_test.ts") && files.length > 50,
    "the walk sees the repository",
  );
  const hits = lines(files, (line) => OUTSIDE.some((needle) => line.includes(needle)));
  assert.deepEqual(hits, [], "cite docs/contracts.md instead");
});

Deno.test("docs: docs/contracts.md numbers its sections in one style, in order", async () => {
  const markdown = await contracts();
  const all = sections(markdown);
  // Every second-level heading is a numbered section: one style throughout.
  const plain = markdown.split("\n").filter((line) => /^## /.test(line) && !HEADING.test(line));
  assert.deepEqual(plain, [], "second-level headings are written `## §N Title`");
  const top = all.filter((s) => s.level === 2).map((s) => s.number);
  assert.ok(top.length >= 9, "§1 to §9 at least");
  assert.deepEqual(top, top.map((_, i) => String(i + 1)), "sections are §1, §2, … in order");
  let parent = "";
  let next = 1;
  for (const { level, number } of all) {
    if (level === 2) {
      assert.match(number, /^\d+$/, `§${number} is a section: no dot`);
      parent = number;
      next = 1;
    } else {
      assert.equal(number, `${parent}.${next}`, `§${number} follows §${parent}'s subsections`);
      next += 1;
    }
  }
});

Deno.test("docs: every citation of docs/contracts.md names a section that exists", async () => {
  const markdown = await contracts();
  const known = new Set(sections(markdown).map((s) => s.number));
  const files = await repositoryFiles();
  const cited: string[] = [];
  const missing: string[] = [];
  for (const { path, text } of files) {
    for (const section of citations(text)) {
      cited.push(section);
      if (!known.has(section)) missing.push(`${path}: §${section}`);
    }
  }
  assert.deepEqual(missing, []);
  // The citations the sources and fakes carry today: the scan must see them.
  assert.ok(cited.length >= 10, `only ${cited.length} citations found`);
  // Inside the file itself a bare `§N` is a cross-reference: it must exist too.
  const body = markdown.split("\n").filter((line) => !HEADING.test(line)).join("\n");
  const bare = [...body.matchAll(/§(\d+(?:\.\d+)*)/g)].map((m) => m[1]!);
  assert.ok(bare.length > 0);
  assert.deepEqual(bare.filter((s) => !known.has(s)), [], "cross-references within the file");
});

Deno.test("docs: docs/contracts.md links only to files that exist", async () => {
  const markdown = await contracts();
  const targets = [...markdown.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1]!)
    .filter((t) => !/^[a-z]+:/.test(t));
  for (const target of targets) {
    const stat = await Deno.stat(new URL(target, new URL("docs/", ROOT))).catch(() => undefined);
    assert.ok(stat?.isFile, `docs/contracts.md links to ${target}, which does not exist`);
  }
});

Deno.test("docs: the README links docs/contracts.md", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  assert.match(readme, /\]\(docs\/contracts\.md\)/);
});

Deno.test("docs: the checks find what they look for (known-answer check)", () => {
  // Guards the tests above against patterns that silently match nothing.
  assert.deepEqual(citations("see docs/contracts.md §4.6 and §9"), ["4.6"]);
  assert.deepEqual(citations(" * large (docs/contracts.md\n * §1.5). Then"), ["1.5"]);
  assert.deepEqual(citations("# (docs/contracts.md §1). From"), ["1"]);
  assert.deepEqual(sections("## §2 Okta\n### §2.1 The request\n```\n## §9 no\n```\n## Other"), [
    { level: 2, number: "2" },
    { level: 3, number: "2.1" },
  ]);
  const planted = [{ path: "x.ts", text: `// see ${OUTSIDE[0]} §1\nok` }];
  assert.deepEqual(lines(planted, (l) => OUTSIDE.some((n) => l.includes(n))), [
    `x.ts:1: // see ${OUTSIDE[0]} §1`,
  ]);
});
