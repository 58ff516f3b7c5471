import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { SRC, fileGraph, folderGraph, importsByFile, type Graph } from './support/importGraph';

/** One cycle per strongly connected component (Tarjan), each written as a → b → … → a. */
export function cycles(graph: Graph): string[] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[] = [];

  const pathWithin = (members: Set<string>, start: string): string[] => {
    // Breadth-first from start's successors back to start, inside the component.
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const node = queue.shift() as string;
      for (const next of graph.get(node) ?? []) {
        if (next === start) {
          const route = [start];
          for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) {
            route.unshift(at);
          }
          return [start, ...route];
        }
        if (!members.has(next) || previous.has(next)) continue;
        previous.set(next, node);
        queue.push(next);
      }
    }
    return [start];
  };

  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const members = new Set<string>();
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        members.add(member);
      } while (member !== node);
      if (members.size > 1 || (graph.get(node)?.has(node) ?? false)) {
        found.push(pathWithin(members, [...members].sort()[0] as string).join(' → '));
      }
    }
  };

  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort();
}

describe('import structure of src/', () => {
  const files = fileGraph();

  it('reads every source file, imports included', () => {
    assert.ok(files.has('main.ts'), 'main.ts is read');
    assert.ok(
      [...(files.get('main.ts') ?? [])].some((target) => target.startsWith('core/')),
      'main.ts imports from core/',
    );
  });

  it('has no file that imports itself back, directly or through others', () => {
    assert.deepEqual(cycles(files), [], 'file import cycles');
  });

  it('has no folders that import each other, directly or through other folders', () => {
    assert.deepEqual(cycles(folderGraph(files)), [], 'folder import cycles');
  });

  it('starts child processes in one place: only src/process/process.ts imports child_process', () => {
    const importers = [...importsByFile()]
      .filter(([, specifiers]) => specifiers.some((s) => s === 'child_process' || s === 'node:child_process'))
      .map(([file]) => path.relative(SRC, file));
    assert.deepEqual(importers, [path.join('process', 'process.ts')]);
  });

  it('finds and names a cycle when there is one (the checker itself)', () => {
    const graph: Graph = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set(['a.ts'])],
    ]);
    assert.deepEqual(cycles(graph), ['a.ts → b.ts → c.ts → a.ts']);
    assert.deepEqual(cycles(new Map([['x', new Set(['y'])]])), []);
  });
});
