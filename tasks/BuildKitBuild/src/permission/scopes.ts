import type { BuildInputs } from '../buildInputs/spec';
import { csvPairs, numberedLines } from '../buildInputs/inputText';
import { normalizeName, parseReference, splitName } from '../buildInputs/reference';

/** One repository on the registry and the actions the build needs there. */
export interface RepositoryScope {
  /** The repository path inside the registry: `team/app`. */
  readonly repository: string;
  /** `pull`, `push`, in that order. */
  readonly actions: readonly ('pull' | 'push')[];
}

/** The registry host and repository of an image reference, or undefined when it is none. */
function repositoryOf(ref: string): { host: string; repository: string } | undefined {
  const parsed = parseReference(ref.trim());
  if (typeof parsed === 'string') return undefined;
  const { domain, path } = splitName(normalizeName(parsed.name));
  return domain === undefined ? undefined : { host: domain.toLowerCase(), repository: path };
}

/** The `ref=` of the `type=registry` lines of cacheFrom or cacheTo. */
function registryLineRefs(raw: readonly string[]): string[] {
  const refs: string[] = [];
  for (const { text } of numberedLines(raw.join('\n'))) {
    const pairs = csvPairs(text);
    if (pairs?.some((p) => p.key.trim() === 'type' && p.value.trim() === 'registry') !== true) continue;
    const ref = pairs.find((p) => p.key.trim() === 'ref')?.value.trim();
    if (ref !== undefined && ref !== '') refs.push(ref);
  }
  return refs;
}

/**
 * Pure: what the build will do on `host`, as token scopes. The image's repository: pull and push (pull
 * alone for a validation build); the registry cache's and cacheTo's repositories, when they are others on
 * the same registry: pull and push when pushing; cache imports and cacheFrom refs there: pull. Other
 * registries are not asked: the task holds no credentials for them.
 */
export function scopesFor(inputs: BuildInputs, host: string): RepositoryScope[] {
  const wanted = new Map<string, Set<'pull' | 'push'>>();
  const want = (ref: string, actions: readonly ('pull' | 'push')[]): void => {
    const at = repositoryOf(ref);
    if (at === undefined || at.host !== host.toLowerCase()) return;
    const set = wanted.get(at.repository) ?? new Set();
    for (const action of actions) set.add(action);
    wanted.set(at.repository, set);
  };
  const push = inputs.image.push;
  want(inputs.image.name, push ? ['pull', 'push'] : ['pull']);
  if (inputs.cache.kind === 'registry') {
    for (const ref of inputs.cache.imports) want(ref, ['pull']);
    if (push) want(inputs.cache.export, ['pull', 'push']);
  }
  for (const ref of registryLineRefs(inputs.cacheFrom)) want(ref, ['pull']);
  for (const ref of registryLineRefs(inputs.cacheTo)) want(ref, ['pull', 'push']);
  return [...wanted].map(([repository, actions]) => ({
    repository,
    actions: (['pull', 'push'] as const).filter((a) => actions.has(a)),
  }));
}

/** `repository:team/app:pull,push`, as a token request's `scope`. */
export function scopeText(scope: RepositoryScope): string {
  return `repository:${scope.repository}:${scope.actions.join(',')}`;
}
