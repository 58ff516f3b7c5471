/**
 * Release URLs as text: a mirror's base URL may carry a query (an Azure Blob SAS token: `?sv=…&sig=…`),
 * which belongs after the path and whose values are credentials that no log line may show.
 */

/** Splits a URL's text where its query or fragment starts. */
function splitAtQuery(url: string): { path: string; rest: string } {
  const at = url.search(/[?#]/);
  return at < 0 ? { path: url, rest: '' } : { path: url.slice(0, at), rest: url.slice(at) };
}

/** The URL without trailing slashes on its path; the query stays as it is. */
export function trimPathSlashes(url: string): string {
  const { path, rest } = splitAtQuery(url);
  return `${path.replace(/\/+$/, '')}${rest}`;
}

/** `<base path>/<relative><base query>`: the path goes before the query, never into it. */
export function appendPath(baseUrl: string, relative: string): string {
  const { path, rest } = splitAtQuery(baseUrl);
  return `${path.replace(/\/+$/, '')}/${relative.replace(/^\/+/, '')}${rest}`;
}

/**
 * The URL for logs and messages: every query value replaced by `***` (names kept, they help to read it;
 * a parameter without a value is replaced whole, it may be a token), the fragment dropped. Works on any
 * text, also on one that is not a valid URL.
 */
export function redactUrl(url: string): string {
  const { path, rest } = splitAtQuery(url);
  if (!rest.startsWith('?')) return path;
  return `${path}?${redactQuery(queryOf(rest))}`;
}

/** The query of a URL's text (what follows `?`, without a fragment); '' when there is none. */
function queryOf(rest: string): string {
  return rest.startsWith('?') ? (rest.slice(1).split('#')[0] ?? '') : '';
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      if (part === '') return part;
      const eq = part.indexOf('=');
      return eq < 0 ? '***' : `${part.slice(0, eq)}=***`;
    })
    .join('&');
}

/**
 * Outside text that may quote `url` (an HTTP client's error names the request's path and query): the URL's
 * query, as sent and percent-decoded, replaced by its redacted form wherever it appears.
 */
export function redactQueryIn(text: string, url: string): string {
  const query = queryOf(splitAtQuery(url).rest);
  if (query === '') return text;
  const redacted = redactQuery(query);
  let decoded = query;
  try {
    decoded = decodeURIComponent(query);
  } catch {
    // Not valid percent-encoding: only the query as sent can appear.
  }
  return [query, decoded].reduce((out, form) => out.split(form).join(redacted), text);
}

/** Query parameters whose values are credentials: Azure SAS `sig`, S3/GCS signatures and credentials, tokens. */
const CREDENTIAL_PARAMETER = /sig|signature|token|credential|secret|password|key/i;

/**
 * Pure: the parts of a URL's query to mask wherever they may appear: the whole query, and each credential
 * parameter's value as sent and percent-decoded. Empty when the URL has no query.
 */
export function querySecrets(url: string): string[] {
  const query = queryOf(splitAtQuery(url).rest);
  if (query === '') return [];
  const secrets = new Set([query]);
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || !CREDENTIAL_PARAMETER.test(part.slice(0, eq))) continue;
    const value = part.slice(eq + 1);
    if (value === '') continue;
    secrets.add(value);
    try {
      secrets.add(decodeURIComponent(value.replace(/\+/g, ' ')));
    } catch {
      // Not valid percent-encoding: only the value as sent can appear.
    }
  }
  return [...secrets];
}
