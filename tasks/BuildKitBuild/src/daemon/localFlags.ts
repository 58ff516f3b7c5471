import { split } from 'shlex';

/** The variable (pipeline variable or environment) with flags for a job daemon, as upstream's scripts name it. */
export const DAEMON_FLAGS_VARIABLE = 'BUILDKITD_FLAGS';

/** Flags the task sets itself: the daemon's socket, state and socket group belong to the job. */
const reservedFlags = ['--addr', '--root', '--group'];

export type DaemonFlagsProblem =
  | { readonly kind: 'quote' }
  | { readonly kind: 'trailing-backslash' }
  | { readonly kind: 'not-a-flag'; readonly word: string }
  | { readonly kind: 'reserved'; readonly flag: string };

/**
 * Pure: BUILDKITD_FLAGS split into words like a shell splits them (quotes, backslashes; no shell runs),
 * or the first problem: an open quote, a trailing backslash, a first word that is no flag, or a flag the
 * task sets itself.
 */
export function parseDaemonFlags(
  text: string | undefined,
): { flags: string[] } | { problem: DaemonFlagsProblem } {
  if (text === undefined || text.trim() === '') return { flags: [] };
  let words: string[];
  try {
    words = split(text);
  } catch (error: unknown) {
    // shlex says which: a backslash with nothing after it, or a quote left open.
    const escape = error instanceof Error && /escape/i.test(error.message);
    return { problem: { kind: escape ? 'trailing-backslash' : 'quote' } };
  }
  const first = words[0];
  if (first !== undefined && !first.startsWith('-')) return { problem: { kind: 'not-a-flag', word: first } };
  for (const word of words) {
    const name = word.split('=', 1)[0] ?? word;
    const reserved = reservedFlags.find((flag) => name === flag || name === `-${flag.slice(2)}`);
    if (reserved !== undefined) return { problem: { kind: 'reserved', flag: reserved } };
  }
  return { flags: words };
}

/**
 * Pure: the flags for the log, one word each: as it is when plain, else as a JSON string with `#` escaped
 * too, so that no word can start a new line or an agent command (`##vso[`) in the log.
 */
export function displayFlags(flags: readonly string[]): string {
  return flags
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word).replace(/#/g, '\\u0023')))
    .join(' ');
}
