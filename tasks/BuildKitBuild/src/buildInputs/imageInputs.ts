import type { RunContext } from '../core/context';
import { numberedLines } from './inputText';
import type { Report } from './fields';
import {
  MAX_NAME_LENGTH,
  checkRepositoryPath,
  isValidTag,
  normalizeName,
  splitName,
  type RepositoryProblem,
} from './reference';

function repositoryMessage(problem: RepositoryProblem, repository: string, ctx: RunContext): string {
  switch (problem) {
    case 'empty':
      return ctx.loc('RepositoryRequired');
    case 'uppercase':
      return ctx.loc('BuildRepositoryUppercase', repository, repository.toLowerCase());
    case 'tagOrDigest':
      return ctx.loc('BuildRepositoryHasTag', repository, repository.replace(/[:@].*$/, ''));
    case 'invalid':
      return ctx.loc('BuildRepositoryInvalid', repository);
  }
}

/**
 * The full image name, or undefined with a problem reported.
 * With a registry host: `<host>/<repository>` (a repository already starting with `<host>/` is accepted).
 * Without: the repository is the full name, normalised the way docker does (`app` → docker.io/library/app).
 */
export function parseImageName(
  rawRepository: string,
  registryHost: string | undefined,
  ctx: RunContext,
  report: Report,
): { repository: string; name: string } | undefined {
  const repository = rawRepository.trim();
  let hostPart: string | undefined;
  let pathPart: string;
  if (registryHost !== undefined) {
    hostPart = registryHost;
    const prefix = `${registryHost.toLowerCase()}/`;
    pathPart = repository.toLowerCase().startsWith(prefix) ? repository.slice(prefix.length) : repository;
  } else {
    const split = splitName(repository);
    hostPart = split.domain;
    pathPart = split.path;
  }
  const problem = checkRepositoryPath(pathPart);
  if (problem !== undefined) {
    report('repository', repositoryMessage(problem, repository, ctx));
    return undefined;
  }
  const name = hostPart === undefined ? normalizeName(pathPart) : `${hostPart}/${pathPart}`;
  if (name.length > MAX_NAME_LENGTH) {
    report('repository', ctx.loc('BuildRepositoryTooLong', name, name.length, MAX_NAME_LENGTH));
    return undefined;
  }
  return { repository: pathPart, name };
}

/** Tags from lines and commas, trimmed, duplicates removed (first kept), each checked against the grammar. */
export function parseTags(raw: string, ctx: RunContext, report: Report): string[] {
  const tags: string[] = [];
  for (const { line, text } of numberedLines(raw)) {
    for (const part of text.split(',')) {
      const tag = part.trim();
      if (tag === '') continue;
      if (!isValidTag(tag)) {
        report(
          'tags',
          /\$\(|\$\{\{|\$\[/.test(tag) ? ctx.loc('BuildTagUnexpanded', tag) : ctx.loc('BuildTagInvalid', tag),
          line,
        );
      } else if (!tags.includes(tag)) tags.push(tag);
    }
  }
  return tags;
}
