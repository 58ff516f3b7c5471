import { StringDecoder } from 'node:string_decoder';

/** Longest line kept whole; a longer one is passed on in pieces of this size (memory stays bounded). */
export const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Splits a byte stream into lines as chunks arrive: complete lines are returned at once, a partial
 * line waits for the rest (a multi-byte character split across chunks is kept whole). Trailing `\r`
 * is dropped. Holds at most one partial line, capped at maxLineLength.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly maxLineLength = MAX_LINE_LENGTH) {}

  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    while (this.partial.length > this.maxLineLength) {
      lines.push(this.partial.slice(0, this.maxLineLength));
      this.partial = this.partial.slice(this.maxLineLength);
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
