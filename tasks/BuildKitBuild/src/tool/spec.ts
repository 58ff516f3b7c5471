import type { RunContext } from '../core/context';
import type { InputProblem } from '../core/inputErrors';
import type { RawInputs } from '../core/inputs';
import { querySecrets, redactUrl, trimPathSlashes } from './urlText';
import { parseRequestedVersion } from './version';

export interface ToolSpec {
  /** The BuildKit release asked for (`0.32.2`), undefined when the input is empty. */
  readonly version: string | undefined;
  /** Lowercase hex SHA-256 the release archive must have, when pinned. */
  readonly sha256: string | undefined;
  /**
   * Base URL of the release archives, without a trailing slash on its path; a query (a SAS token) is kept
   * and must only be shown through redactUrl.
   */
  readonly downloadUrl: string;
}

/** The upstream release location, used when the input is empty. */
export const UPSTREAM_DOWNLOAD_URL = 'https://github.com/moby/buildkit/releases/download';

function parseDownloadUrl(text: string, ctx: RunContext, problems: InputProblem[]): string {
  if (text === '') return UPSTREAM_DOWNLOAD_URL;
  // Masked from here on, wherever the URL may be quoted; the installer's own lines redact it as well.
  for (const secret of querySecrets(text)) ctx.log.setSecret(secret);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    problems.push({
      input: 'buildkitDownloadUrl',
      message: ctx.loc('ToolDownloadUrlInvalid', redactUrl(text)),
    });
    return text;
  }
  if (url.username !== '' || url.password !== '') {
    // The URL is logged with every download; a password in it would be printed.
    problems.push({
      input: 'buildkitDownloadUrl',
      message: ctx.loc('ToolDownloadUrlCredentials', `${url.protocol}//${url.host}${url.pathname}`),
    });
    return text;
  }
  return trimPathSlashes(text);
}

/** Reads buildctlVersion and buildkitDownloadUrl. */
export function parseTool(raw: RawInputs, ctx: RunContext, problems: InputProblem[]): ToolSpec {
  const versionText = raw.buildctlVersion.trim();
  const downloadUrl = parseDownloadUrl(raw.buildkitDownloadUrl.trim(), ctx, problems);
  if (versionText === '') return { version: undefined, sha256: undefined, downloadUrl };
  const requested = parseRequestedVersion(versionText);
  if (requested === undefined) {
    problems.push({ input: 'buildctlVersion', message: ctx.loc('ToolVersionInvalid', versionText) });
    return { version: undefined, sha256: undefined, downloadUrl };
  }
  return { version: requested.version, sha256: requested.sha256, downloadUrl };
}
