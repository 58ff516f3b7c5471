/** A `WWW-Authenticate` challenge of the distribution API: `Bearer realm="...",service="...",scope="..."`. */
export interface Challenge {
  /** Lowercased: `bearer` or `basic`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Pure: the first challenge of a WWW-Authenticate header (RFC 7235: a scheme, then `key=value` or
 * `key="quoted \" value"` pairs separated by commas). Undefined when there is none.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?$/s.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  const pair = /\s*([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const rest = match[2] ?? '';
  let found: RegExpExecArray | null;
  while (pair.lastIndex < rest.length && (found = pair.exec(rest)) !== null) {
    const key = (found[1] ?? '').toLowerCase();
    params[key] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : (found[3] ?? '');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}
