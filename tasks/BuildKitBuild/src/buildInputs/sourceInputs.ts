import * as path from 'node:path';
import type { RunContext } from '../context';
import { absolutePath, pathKind, type Report } from './fields';
import { csvPairs, numberedLines, splitKeyValue } from './inputText';
import { parseOciLayoutReference, resolveOciLayout } from './ociLayout';
import { parseReference } from './reference';

/** `--opt build-arg:NAME=VALUE`. */
export interface BuildArg {
  readonly name: string;
  readonly value: string;
}

/** `--secret id=...,src=...` (a file) or `--secret id=...,env=...` (a variable of buildctl's environment). */
export type BuildSecret =
  | { readonly id: string; readonly kind: 'file'; readonly path: string }
  | { readonly id: string; readonly kind: 'env'; readonly variable: string };

/**
 * A named build context: a local directory (sent as `--local <localName>=<path>`), an image of a local OCI
 * layout (the directory lent as `--oci-layout <storeId>=<path>`, the image named by digest), or a source
 * buildkit resolves itself (`docker-image://`, `https://`, ...), passed as `--opt context:<name>=...`.
 */
export type NamedContext =
  | { readonly name: string; readonly kind: 'local'; readonly localName: string; readonly path: string }
  | {
      readonly name: string;
      readonly kind: 'oci-layout';
      readonly storeId: string;
      readonly path: string;
      readonly digest: string;
    }
  | { readonly name: string; readonly kind: 'source'; readonly source: string };

const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const LABEL_KEY = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/;
const STAGE = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const SECRET_ID = /^[A-Za-z0-9_.-]+$/;
const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/@-]*$/;
const LOCAL_NAME = /^[A-Za-z0-9_-]+$/;
const RESERVED_LOCAL_NAMES = new Set(['context', 'dockerfile']);

/** The build context directory: absolute, existing. */
export function parseContext(raw: string, workDir: string, ctx: RunContext, report: Report): string {
  const value = raw.trim() === '' ? '.' : raw.trim();
  const dir = absolutePath(workDir, value);
  const kind = pathKind(dir);
  if (kind === 'missing') report('context', ctx.loc('BuildContextMissing', dir));
  else if (kind === 'file') report('context', ctx.loc('BuildContextNotDirectory', dir));
  return dir;
}

/** The Dockerfile: absolute (relative to the context), an existing file. */
export function parseDockerfile(raw: string, contextDir: string, ctx: RunContext, report: Report): string {
  const value = raw.trim() === '' ? 'Dockerfile' : raw.trim();
  const file = absolutePath(contextDir, value);
  const kind = pathKind(file);
  if (kind === 'missing') report('dockerfile', ctx.loc('BuildDockerfileMissing', file, contextDir));
  else if (kind === 'directory') report('dockerfile', ctx.loc('BuildDockerfileIsDirectory', file));
  return file;
}

/** `KEY=VALUE` lines; a bare `KEY` takes the environment's value. A later line overrides an earlier one. */
export function parseBuildArgs(
  raw: string,
  env: Readonly<Record<string, string | undefined>>,
  ctx: RunContext,
  report: Report,
): BuildArg[] {
  const args = new Map<string, string>();
  for (const { line, text } of numberedLines(raw)) {
    const pair = splitKeyValue(text);
    const name = pair === undefined ? text : pair.key;
    if (!ARG_NAME.test(name)) {
      report('buildArgs', ctx.loc('BuildArgNameInvalid', text), line);
      continue;
    }
    if (pair !== undefined) {
      args.set(name, pair.value);
      continue;
    }
    const fromEnv = env[name];
    if (fromEnv === undefined) report('buildArgs', ctx.loc('BuildArgEnvUnset', name, name), line);
    else args.set(name, fromEnv);
  }
  return [...args].map(([name, value]) => ({ name, value }));
}

/** `key=value` lines into a map (later lines override earlier ones). */
export function parseLabels(raw: string, ctx: RunContext, report: Report): Map<string, string> {
  const labels = new Map<string, string>();
  for (const { line, text } of numberedLines(raw)) {
    const pair = splitKeyValue(text);
    if (pair === undefined) report('labels', ctx.loc('BuildLabelNotPair', text), line);
    else if (!LABEL_KEY.test(pair.key)) report('labels', ctx.loc('BuildLabelKeyInvalid', pair.key), line);
    else labels.set(pair.key, pair.value.trim());
  }
  return labels;
}

/** Whether a lowercased word is `os/arch[/variant]`. */
export function isPlatform(word: string): boolean {
  return PLATFORM.test(word);
}

/** `os/arch[/variant]`, comma (or line) separated, lowercased, duplicates removed. */
export function parsePlatforms(raw: string, ctx: RunContext, report: Report): string[] {
  const platforms: string[] = [];
  for (const part of raw.split(/[,\r\n]/)) {
    const platform = part.trim().toLowerCase();
    if (platform === '') continue;
    if (!PLATFORM.test(platform)) report('platforms', ctx.loc('BuildPlatformInvalid', part.trim()));
    else if (!platforms.includes(platform)) platforms.push(platform);
  }
  return platforms;
}

/** A Dockerfile stage name, or undefined when empty. */
export function parseTarget(raw: string, ctx: RunContext, report: Report): string | undefined {
  const target = raw.trim();
  if (target === '') return undefined;
  if (!STAGE.test(target)) report('target', ctx.loc('BuildTargetInvalid', target));
  return target;
}

/**
 * `id=NAME,src=PATH` or `id=NAME,env=VARIABLE` lines (buildctl's syntax; `source=` and `type=file|env`
 * accepted). Files must exist, variables must be set; a variable's value is masked in the log.
 */
export function parseSecrets(
  raw: string,
  workDir: string,
  env: Readonly<Record<string, string | undefined>>,
  ctx: RunContext,
  report: Report,
): BuildSecret[] {
  const secrets: BuildSecret[] = [];
  for (const { line, text } of numberedLines(raw)) {
    const problem = (message: string): void => {
      report('secrets', message, line);
    };
    const pairs = csvPairs(text);
    if (pairs === undefined) {
      problem(ctx.loc('BuildSecretSyntax', text));
      continue;
    }
    const fields = new Map<string, string>();
    let bad = false;
    for (const { key, value } of pairs) {
      const field = key === 'source' ? 'src' : key;
      if (!['id', 'type', 'src', 'env'].includes(field)) {
        problem(ctx.loc('BuildSecretUnknownKey', key));
        bad = true;
      } else fields.set(field, value);
    }
    if (bad) continue;
    const id = fields.get('id') ?? '';
    const type = fields.get('type')?.toLowerCase();
    const src = fields.get('src');
    const variable = fields.get('env');
    if (!SECRET_ID.test(id)) {
      problem(ctx.loc('BuildSecretId', text));
      continue;
    }
    if (secrets.some((s) => s.id === id)) {
      problem(ctx.loc('BuildSecretDuplicate', id));
      continue;
    }
    if (
      (src === undefined) === (variable === undefined) ||
      (type !== undefined && type !== 'file' && type !== 'env')
    ) {
      problem(ctx.loc('BuildSecretSource', id));
      continue;
    }
    if ((type === 'file' && src === undefined) || (type === 'env' && variable === undefined)) {
      problem(ctx.loc('BuildSecretTypeMismatch', id, type));
      continue;
    }
    if (src !== undefined) {
      const file = absolutePath(workDir, src);
      if (pathKind(file) !== 'file') problem(ctx.loc('BuildSecretFileMissing', id, file));
      else secrets.push({ id, kind: 'file', path: file });
    } else if (variable !== undefined) {
      const value = env[variable];
      if (value === undefined) problem(ctx.loc('BuildSecretEnvUnset', id, variable));
      else {
        ctx.log.setSecret(value);
        secrets.push({ id, kind: 'env', variable });
      }
    }
  }
  return secrets;
}

/** The name for `--local`: the context's own name when it is a plain word, else `ctx1`, `ctx2`, ... */
function uniqueLocalName(name: string, contexts: readonly NamedContext[]): string {
  const used = new Set(contexts.map((c) => (c.kind === 'local' ? c.localName : '')));
  if (LOCAL_NAME.test(name) && !RESERVED_LOCAL_NAMES.has(name) && !used.has(name)) return name;
  let n = 1;
  while (used.has(`ctx${n}`)) n++;
  return `ctx${n}`;
}

/**
 * The id the OCI layout is lent under: the context's name when it is one lowercase reference component
 * (BuildKit reads the id as the name of a reference), else `layout1`, `layout2`, ...
 */
function uniqueStoreId(name: string, contexts: readonly NamedContext[]): string {
  const used = new Set(contexts.map((c) => (c.kind === 'oci-layout' ? c.storeId : '')));
  if (/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(name) && !used.has(name)) return name;
  let n = 1;
  while (used.has(`layout${n}`)) n++;
  return `layout${n}`;
}

/** `name=oci-layout://<directory>[:tag|@digest]`: the layout must hold the image; problems reported. */
function parseOciLayoutContext(
  name: string,
  value: string,
  workDir: string,
  contexts: readonly NamedContext[],
  ctx: RunContext,
  report: (message: string) => void,
): NamedContext | undefined {
  // The Dockerfile frontend names the image after the context (reference.ParseNormalizedNamed).
  if (typeof parseReference(name) === 'string') {
    report(ctx.loc('BuildNamedContextOciLayoutName', name));
    return undefined;
  }
  const reference = parseOciLayoutReference(value.slice('oci-layout://'.length), workDir);
  if (reference === undefined) {
    report(ctx.loc('BuildNamedContextOciLayoutSyntax', value));
    return undefined;
  }
  const resolved = resolveOciLayout(reference);
  if (!resolved.ok) {
    if (resolved.problem === 'not-layout')
      report(ctx.loc('BuildNamedContextOciLayoutMissing', name, reference.dir));
    else if (resolved.problem === 'no-blob')
      report(ctx.loc('BuildNamedContextOciLayoutDigest', reference.dir, resolved.digest));
    else {
      const tags =
        resolved.tags.length > 0 ? resolved.tags.join(', ') : ctx.loc('BuildNamedContextOciLayoutNoTags');
      report(ctx.loc('BuildNamedContextOciLayoutTag', reference.dir, reference.tag, tags));
    }
    return undefined;
  }
  return {
    name,
    kind: 'oci-layout',
    storeId: uniqueStoreId(name, contexts),
    path: reference.dir,
    digest: resolved.digest,
  };
}

const SOURCE_SCHEMES = ['docker-image://', 'oci-layout://', 'https://', 'http://', 'git://', 'git@'];

/**
 * `name=path` (an existing directory), `name=oci-layout://<directory>[:tag|@digest]` (an image of a local
 * OCI layout), or a source BuildKit fetches: `name=docker-image://ref`, `name=https://...`, `name=git@...`.
 */
export function parseNamedContexts(
  raw: string,
  workDir: string,
  ctx: RunContext,
  report: Report,
): NamedContext[] {
  const contexts: NamedContext[] = [];
  for (const { line, text } of numberedLines(raw)) {
    const pair = splitKeyValue(text);
    if (pair === undefined || pair.value.trim() === '') {
      report('buildContexts', ctx.loc('BuildNamedContextSyntax', text), line);
      continue;
    }
    const name = pair.key;
    const value = pair.value.trim();
    if (!CONTEXT_NAME.test(name)) {
      report('buildContexts', ctx.loc('BuildNamedContextName', name), line);
      continue;
    }
    if (contexts.some((c) => c.name === name)) {
      report('buildContexts', ctx.loc('BuildNamedContextDuplicate', name), line);
      continue;
    }
    const scheme = SOURCE_SCHEMES.find((s) => value.toLowerCase().startsWith(s));
    if (scheme === 'docker-image://') {
      const reference = parseReference(value.slice(scheme.length));
      if (typeof reference === 'string') {
        report('buildContexts', ctx.loc('BuildNamedContextImage', value), line);
        continue;
      }
    }
    if (scheme === 'oci-layout://') {
      const layout = parseOciLayoutContext(name, value, workDir, contexts, ctx, (message) => {
        report('buildContexts', message, line);
      });
      if (layout !== undefined) contexts.push(layout);
      continue;
    }
    if (scheme !== undefined) {
      contexts.push({ name, kind: 'source', source: value });
      continue;
    }
    const dir = absolutePath(workDir, value);
    if (pathKind(dir) !== 'directory') {
      report('buildContexts', ctx.loc('BuildNamedContextMissing', name, dir), line);
      continue;
    }
    contexts.push({ name, kind: 'local', localName: uniqueLocalName(name, contexts), path: dir });
  }
  return contexts;
}

/** The directory holding the Dockerfile and its file name (`--local dockerfile=` and `--opt filename=`). */
export function dockerfileParts(dockerfile: string): { dir: string; filename: string } {
  return { dir: path.dirname(dockerfile), filename: path.basename(dockerfile) };
}
