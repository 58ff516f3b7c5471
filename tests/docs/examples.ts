import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot, type TaskDefinition, type TaskInputDefinition } from '../support/repo';

export const kubernetesDir = path.join(repoRoot, 'examples', 'kubernetes');
export const pipelinesDir = path.join(repoRoot, 'examples', 'pipelines');

export type YamlObject = Record<string, unknown>;

export function isObject(value: unknown): value is YamlObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every YAML document of a file; throws with the file name on any parse error or warning. */
export function yamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'), { prettyErrors: true });
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  return docs.map((doc) => {
    const issues = [...doc.errors, ...doc.warnings];
    if (issues.length > 0) throw new Error(`${file}: ${issues.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

export function filesIn(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && pattern.test(entry.name)) found.push(path.join(entry.parentPath, entry.name));
  }
  return found.sort();
}

/** Kubernetes objects of examples/kubernetes, the minimal shape the checks read. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: YamlObject;
  file: string;
}

export function kubernetesObjects(): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const file of filesIn(kubernetesDir, /\.ya?ml$/)) {
    for (const doc of yamlDocuments(file)) {
      if (doc === null) continue;
      if (!isObject(doc)) throw new Error(`${file}: a document is not a mapping`);
      objects.push({ ...(doc as unknown as Omit<KubeObject, 'file'>), file: path.basename(file) });
    }
  }
  return objects;
}

/** A `- task: X` step found anywhere in a pipeline (stages, jobs, deployment strategies). */
export interface TaskStep {
  task: string;
  name?: string;
  inputs: YamlObject;
  /** The steps list holding it, for "earlier step" checks. */
  siblings: YamlObject[];
  index: number;
}

export function taskSteps(pipeline: unknown): TaskStep[] {
  const found: TaskStep[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach((item) => {
        if (isObject(item) && typeof item.task === 'string') {
          found.push({
            task: item.task,
            name: typeof item.name === 'string' ? item.name : undefined,
            inputs: isObject(item.inputs) ? item.inputs : {},
            siblings: node.filter(isObject),
            index: node.filter(isObject).indexOf(item),
          });
        }
        walk(item);
      });
    } else if (isObject(node)) {
      for (const value of Object.values(node)) walk(value);
    }
  };
  walk(pipeline);
  return found;
}

/** A value decided at run time (macro, runtime or template expression): not checkable statically. */
function isExpression(value: string): boolean {
  return /^\$\(.+\)$|^\$\[.+\]$|^\$\{\{.+\}\}$/s.test(value.trim());
}

/**
 * Problems of one BuildKitBuild@1 step against task.json: unknown inputs, an input given twice (name and
 * alias), pick-list and boolean values, the required inputs and the registry choice.
 */
export function stepProblems(inputs: YamlObject, task: TaskDefinition): string[] {
  const problems: string[] = [];
  const byKey = new Map<string, TaskInputDefinition>();
  for (const input of task.inputs) {
    byKey.set(input.name, input);
    for (const alias of input.aliases ?? []) byKey.set(alias, input);
  }
  const given = new Map<string, string>();
  for (const [key, raw] of Object.entries(inputs)) {
    const input = byKey.get(key);
    if (!input) {
      problems.push(`unknown input ${key}`);
      continue;
    }
    if (given.has(input.name)) problems.push(`${input.name} given twice (${given.get(input.name)}, ${key})`);
    given.set(input.name, key);
    if (typeof raw === 'object' && raw !== null) {
      problems.push(`${key}: a mapping or list, not a string`);
      continue;
    }
    const value = String(raw);
    if (isExpression(value)) continue;
    if (input.type === 'boolean' && !/^(true|false)$/i.test(value))
      problems.push(`${key}: ${value} is no boolean`);
    if (input.type === 'pickList' && input.properties?.EditableOptions !== 'True') {
      const options = Object.keys(input.options ?? {});
      if (!options.includes(value)) problems.push(`${key}: ${value} is not one of ${options.join(', ')}`);
    }
  }
  for (const input of task.inputs) {
    const required = (input as TaskInputDefinition & { required?: boolean }).required === true;
    if (required && !given.has(input.name)) problems.push(`${input.name} is required`);
  }
  if (given.has('azureSubscription') && given.has('containerRegistry')) {
    problems.push('azureSubscription and containerRegistry are alternatives');
  }
  if (given.has('azureSubscription') && !given.has('acr'))
    problems.push('acr is required with azureSubscription');
  if (given.has('tlsCert') !== given.has('tlsKey')) problems.push('tlsCert and tlsKey go together');
  return problems;
}

/** The lines of a multi-line input, as the task splits them (blank lines ignored). */
export function lines(value: unknown): string[] {
  return typeof value === 'string'
    ? value
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length > 0)
    : [];
}
