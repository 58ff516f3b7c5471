import type { RunContext } from '../context';
import type { InputProblem } from '../inputErrors';
import type { RawInputs } from '../inputs';

export interface ToolSpec {
  /** The BuildKit release asked for (`0.32.2`), undefined when the input is empty. */
  readonly version: string | undefined;
  /** Lowercase hex SHA-256 the release archive must have, when pinned. */
  readonly sha256: string | undefined;
  /** Base URL of the release archives. */
  readonly downloadUrl: string;
}

/** Reads buildctlVersion and buildkitDownloadUrl. (Issue 5 owns this module.) */
export function parseTool(raw: RawInputs, _ctx: RunContext, _problems: InputProblem[]): ToolSpec {
  const version = raw.buildctlVersion.trim();
  return {
    version: version === '' ? undefined : version,
    sha256: undefined,
    downloadUrl: raw.buildkitDownloadUrl,
  };
}
