import { StringDecoder } from 'node:string_decoder';
import { maskSecrets } from '../core/agentText';

/** Longest line kept whole; a longer one is passed on in pieces of this size (memory stays bounded). */
export const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Pure: where to cut `text` (longer than `max`) so that no occurrence of a secret is cut in two: the agent
 * masks line by line, so each half of a cut secret would show in clear. At most `max`, moved back to the
 * start of any secret (or beginning of one, at the end of the text) that straddles it; when a secret starts
 * the text and is longer than `max`, just after it. Undefined when the text starts with the beginning of a
 * secret that has not fully arrived yet (the caller waits for more).
 */
export function safeCut(text: string, max: number, secrets: readonly string[]): number | undefined {
  let cut = max;
  // A piece is never empty; once a piece must hold a whole secret, it never ends before that secret does.
  let floor = 1;
  for (let moved = true; moved;) {
    moved = false;
    for (const secret of secrets) {
      if (secret.length < 2) continue;
      const from = Math.max(0, cut - secret.length + 1);
      const whole = text.indexOf(secret, from);
      let start = whole >= 0 && whole < cut ? whole : -1;
      const complete = start >= 0;
      // The beginning of a secret at the very end: it may continue in the next chunk.
      for (let p = Math.max(from, text.length - secret.length + 1); start < 0 && p < cut; p++) {
        if (secret.startsWith(text.slice(p))) start = p;
      }
      if (start < 0) continue;
      moved = true;
      if (start >= floor) {
        cut = start;
      } else if (complete) {
        cut = start + secret.length;
        floor = cut;
      } else {
        return undefined;
      }
    }
  }
  return cut;
}

/**
 * Splits a byte stream into lines as chunks arrive: complete lines are returned at once, a partial
 * line waits for the rest (a multi-byte character split across chunks is kept whole). Trailing `\r`
 * is dropped. Holds at most one partial line, capped at maxLineLength (plus the longest secret): a longer
 * line is passed on in pieces, never cut inside a registered secret.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly maxLineLength = MAX_LINE_LENGTH,
    private readonly secrets: () => readonly string[] = () => [],
  ) {}

  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    while (this.partial.length > this.maxLineLength) {
      const secrets = this.secrets();
      const cut = safeCut(this.partial, this.maxLineLength, secrets);
      if (cut === undefined) {
        // Every cut point lies in some occurrence (occurrences that overlap or touch): mask the whole ones
        // first, as the log does anyway, so that the line can be cut and memory stays bounded.
        const masked = maskSecrets(this.partial, secrets);
        if (masked === this.partial) break;
        this.partial = masked;
        continue;
      }
      lines.push(this.partial.slice(0, cut));
      this.partial = this.partial.slice(cut);
    }
    return lines.map(stripCarriageReturn);
  }

  /** The last line when the stream ended without a newline. */
  end(): string[] {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    return rest === '' ? [] : [stripCarriageReturn(rest)];
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
