/** Small pure helpers for the text shapes of multi-line inputs. */

export interface NumberedLine {
  /** 1-based line number in the input as typed. */
  readonly line: number;
  /** The line without surrounding whitespace; never empty. */
  readonly text: string;
}

/** The non-empty lines of a multi-line input, trimmed, with their 1-based numbers. */
export function numberedLines(input: string): NumberedLine[] {
  const lines: NumberedLine[] = [];
  input.split(/\r\n|\n|\r/).forEach((raw, index) => {
    const text = raw.trim();
    if (text !== '') lines.push({ line: index + 1, text });
  });
  return lines;
}

/** Splits `key=value` at the first `=`; undefined when there is no `=`. The key is trimmed. */
export function splitKeyValue(text: string): { key: string; value: string } | undefined {
  const at = text.indexOf('=');
  if (at < 0) return undefined;
  return { key: text.slice(0, at).trim(), value: text.slice(at + 1) };
}

/**
 * Splits one CSV record (the syntax buildctl reads for --output, --secret, --import-cache):
 * fields separated by commas, a field may be double-quoted with `""` for a quote inside.
 * Undefined when a quote is left open.
 */
export function splitCsv(text: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quoted) {
      if (c === '"' && text.charAt(i + 1) === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

/** One CSV field, quoted when it holds a comma, a quote, a line break or surrounding spaces. */
export function csvField(value: string): string {
  if (!/[",\r\n]/.test(value) && value.trim() === value) return value;
  return `"${value.replace(/"/g, '""')}"`;
}

/** The fields of a CSV record as `key=value` pairs (keys lowercased); undefined when one has no `=` or a quote is open. */
export function csvPairs(text: string): { key: string; value: string }[] | undefined {
  const fields = splitCsv(text);
  if (fields === undefined) return undefined;
  const pairs: { key: string; value: string }[] = [];
  for (const field of fields) {
    const pair = splitKeyValue(field.trim());
    if (pair === undefined || pair.key === '') return undefined;
    pairs.push({ key: pair.key.toLowerCase(), value: pair.value.trim() });
  }
  return pairs;
}
