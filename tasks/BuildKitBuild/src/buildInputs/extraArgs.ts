import { split } from 'shlex';

/**
 * Splits `extraArgs` into words the way a POSIX shell would (quotes, backslashes), without ever running
 * a shell: no variables, globs or command substitution. Undefined when a quote is left open.
 */
export function splitExtraArgs(text: string): string[] | undefined {
  if (text.trim() === '') return [];
  try {
    return split(text);
  } catch {
    return undefined;
  }
}
