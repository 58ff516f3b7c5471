import { split } from 'shlex';

/** Why extraArgs cannot be split into words. */
export type ExtraArgsProblem = 'openQuote' | 'trailingBackslash';

/**
 * Splits `extraArgs` into words the way a POSIX shell would (quotes, backslashes), without ever running
 * a shell: no variables, globs or command substitution. A problem instead when a quote is left open or
 * the text ends in a backslash that escapes nothing.
 */
export function splitExtraArgs(text: string): string[] | ExtraArgsProblem {
  if (text.trim() === '') return [];
  try {
    return split(text);
  } catch (error: unknown) {
    // shlex: "Got EOF while in an escape sequence" (a last backslash) or "... in a quoted string".
    return error instanceof Error && /escape/i.test(error.message) ? 'trailingBackslash' : 'openQuote';
  }
}
