/**
 * The OCI distribution reference grammar (the one docker and buildkit use):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component ( "/" path-component )*
 * Pure functions over strings; no I/O.
 */

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domain = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';

const DOMAIN = new RegExp(`^${domain}$`);
const PATH_COMPONENT = new RegExp(`^${pathComponent}$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;

/** The longest full name (domain and path) a registry must accept. */
export const MAX_NAME_LENGTH = 255;

/** Docker Hub, where names without a registry live. */
export const DOCKER_HUB = 'docker.io';

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isValidDigest(digest: string): boolean {
  return DIGEST.test(digest);
}

/** Whether the first component of a name is a registry host (docker's rule: a dot, a port, or localhost). */
export function looksLikeDomain(component: string): boolean {
  return (
    (component.includes('.') || component.includes(':') || component === 'localhost') &&
    DOMAIN.test(component)
  );
}

export type RepositoryProblem = 'empty' | 'uppercase' | 'tagOrDigest' | 'invalid';

/** Checks a repository path (no domain): lowercase components separated by `/`. */
export function checkRepositoryPath(path: string): RepositoryProblem | undefined {
  if (path === '') return 'empty';
  if (/[@]/.test(path) || /:[^/]*$/.test(path)) return 'tagOrDigest';
  const components = path.split('/');
  if (components.every((c) => PATH_COMPONENT.test(c))) return undefined;
  if (components.every((c) => PATH_COMPONENT.test(c.toLowerCase()))) return 'uppercase';
  return 'invalid';
}

export interface ParsedName {
  /** Registry host, undefined when the name has none. */
  readonly domain: string | undefined;
  readonly path: string;
}

/** Splits a name into its domain (when the first component is one) and its path. */
export function splitName(name: string): ParsedName {
  const slash = name.indexOf('/');
  if (slash > 0) {
    const first = name.slice(0, slash);
    if (looksLikeDomain(first)) return { domain: first, path: name.slice(slash + 1) };
  }
  return { domain: undefined, path: name };
}

/** `app` → `docker.io/library/app`, `team/app` → `docker.io/team/app`; names with a domain unchanged. */
export function normalizeName(name: string): string {
  const { domain: host, path } = splitName(name);
  if (host !== undefined) return name;
  return path.includes('/') ? `${DOCKER_HUB}/${path}` : `${DOCKER_HUB}/library/${path}`;
}

export interface ParsedReference {
  readonly name: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

export type ReferenceProblem = RepositoryProblem | 'tag' | 'digest' | 'domain';

/** Parses `name[:tag][@digest]`; returns the problem when the text breaks the grammar. */
export function parseReference(text: string): ParsedReference | ReferenceProblem {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) return 'digest';
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) return 'tag';
  }
  const { domain: host, path } = splitName(rest);
  if (host === undefined && rest.includes('/')) {
    const first = rest.slice(0, rest.indexOf('/'));
    if (/[.:]/.test(first) && !DOMAIN.test(first)) return 'domain';
  }
  const problem = checkRepositoryPath(path);
  if (problem !== undefined) return problem;
  return { name: rest, tag, digest };
}
