/**
 * Pure: what makes outside text (build output, registry errors, inputs) safe to write where the agent reads
 * commands. Only taskContext.ts writes to the agent, and it passes every text through here first.
 *
 * How the agent reads a task's output (microsoft/azure-pipelines-agent): each line (split at `\r` and
 * `\n`) is a logging command when `##vso[` occurs ANYWHERE in it (Command.TryParse: `IndexOf("##vso[")`,
 * a culture-sensitive search, under which every character ICU's collation ignores is skipped, so
 * `#\u200B#vso[` and `#\u0591#vso[` are found too); a line holding `##vso` that does not parse is still reported as
 * a warning. Formatting commands (`##[group]`, `##[error]`, `##[section]`, ...) are recognised by the log
 * writer anywhere in a line (`Contains("##[group]")`, any case) and by the web view at the start of a line.
 */

/**
 * Characters the agent's culture-sensitive search may skip. Which characters ICU's collation ignores is its
 * own data (controls and default-ignorable code points, but also hundreds of marks and signs: Hebrew
 * accents, Arabic marks, Vedic signs, musical symbols, …) and changes with its version, so everything but
 * printable ASCII (and the line ends) counts: a `#` and `#vso[` with only such characters between them may be
 * one command to the agent. Neutralising a harmless `#é#vso[` too costs nothing.
 */
const SKIPPED = String.raw`[^\x20-\x7e\n\r]*`;

/** `##[` and `##vso[`, also with skipped characters anywhere between, in any case. */
const COMMAND_START = new RegExp(`#${SKIPPED}#${SKIPPED}(?:v${SKIPPED}s${SKIPPED}o${SKIPPED})?\\[`, 'giu');

/**
 * Outside text as plain text for the log: every `##[`/`##vso[` (however disguised) gets a space between its
 * two `#`, so `##vso[task.setvariable …]` shows as `# #vso[task.setvariable …]` and is never run. Line
 * breaks are kept. Idempotent.
 */
export function neutralizeCommands(text: string): string {
  return text.replace(COMMAND_START, (match) => `# ${match.slice(1)}`);
}

/**
 * Replaces every registered secret by `***` (as the agent does), the longest first so that a secret holding
 * another is masked whole. Done before neutralizeCommands, which could otherwise change a secret's text so
 * that the agent's own masking no longer recognises it.
 */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const ordered = [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  let masked = text;
  for (const secret of ordered) if (masked.includes(secret)) masked = masked.split(secret).join('***');
  return masked;
}

/**
 * An attachment name: the agent refuses names with characters invalid in file names (on Windows agents
 * `"<>|:*?\\/` and controls), so those become spaces.
 */
export function attachmentName(title: string): string {
  // eslint-disable-next-line no-control-regex
  return title.replace(/[\x00-\x1f"<>|:*?\\/]/g, ' ').trim();
}
