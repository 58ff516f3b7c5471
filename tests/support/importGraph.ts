import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { repoRoot } from './repo';

export const SRC = path.join(repoRoot, 'tasks', 'BuildKitBuild', 'src');

export type Graph = Map<string, Set<string>>;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Resolves a relative specifier to its source file (x, x.js → x.ts; a folder → its index.ts). */
function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${path.relative(SRC, from)} imports '${specifier}', which is not a file under src/`);
}

/** Every specifier each file under src/ imports, re-exports, `import type`s or import()s, by file. */
export function importsByFile(): Map<string, string[]> {
  return new Map(
    sourceFiles(SRC).map((file) => [
      file,
      ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName),
    ]),
  );
}

/** Every local import of every file under src/, as file → files. */
export function fileGraph(): Graph {
  const graph: Graph = new Map();
  for (const [file, specifiers] of importsByFile()) {
    const targets = new Set<string>();
    for (const specifier of specifiers) {
      const target = resolveLocal(file, specifier);
      if (target !== undefined) targets.add(path.relative(SRC, target));
    }
    graph.set(path.relative(SRC, file), targets);
  }
  return graph;
}

export function folderOf(file: string): string {
  const dir = path.dirname(file);
  return dir === '.' ? '(src root)' : dir;
}

export function folderGraph(files: Graph): Graph {
  const graph: Graph = new Map();
  for (const [file, targets] of files) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}
