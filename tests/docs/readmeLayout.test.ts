import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileGraph, folderGraph } from '../support/importGraph';
import { repoRoot } from '../support/repo';

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const SRC = path.join(repoRoot, 'tasks', 'BuildKitBuild', 'src');

/** The text of a `## title` section, up to the next heading of the same level. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a section '${title}'`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Code spans that look like a path of ours: `tests/…`, `src/…`, `tasks/…`, `bench/…`, `scripts/…`. */
function namedPaths(text: string): string[] {
  return [...text.matchAll(/`((?:tests|src|tasks|bench|scripts)\/[^`\s*]*)`/g)].map((m) => m[1] ?? '');
}

describe('README layout', () => {
  it('names the source folders in "How it works" in the order data flows through them, each once', () => {
    const folders = fs
      .readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    const listed = [...section('How it works').matchAll(/^- `([a-zA-Z]+)\/`/gm)].map((m) => m[1] ?? '');
    assert.deepEqual([...listed].sort(), [...folders].sort(), 'every folder under src/, and only those');
    // "Imports only point back up this list": each folder imports only folders named before it.
    const graph = folderGraph(fileGraph());
    for (const [index, folder] of listed.entries()) {
      const later = [...(graph.get(folder) ?? [])].filter((to) => listed.indexOf(to) > index);
      assert.deepEqual(later, [], `${folder}/ imports folders listed after it`);
    }
  });

  it('names only paths that exist (a moved file or folder is renamed here too)', () => {
    const missing = namedPaths(readme).filter((named) => {
      const candidates = [path.join(repoRoot, named), path.join(repoRoot, 'tasks', 'BuildKitBuild', named)];
      return !candidates.some((candidate) => fs.existsSync(candidate));
    });
    assert.deepEqual(missing, []);
  });
});
