import type { PlainLine } from './progress';

/** Why buildctl failed, in one line a user can act on, and where in the Dockerfile when known. */
export interface BuildFailure {
  readonly message: string;
  /** `Dockerfile` (as BuildKit names it) and line of the failing instruction. */
  readonly location?: { file: string; line: number };
}

const FAILED_TO_SOLVE = 'failed to solve: ';

/**
 * Keeps, with bounded memory, what is needed to explain a failed build: the last step error
 * (`#6 ERROR: ...` and the step's name), buildctl's final `error: ...` line, the Dockerfile location
 * BuildKit prints (`Dockerfile:12`), a Go panic, and the last non-empty line.
 */
export class FailureTracker {
  private stepError: { step: string | undefined; text: string } | undefined;
  private finalError: string | undefined;
  private location: { file: string; line: number } | undefined;
  private panic: string | undefined;
  private lastLine: string | undefined;

  /** `parsed` is the same line as parsed by ProgressTracker; `stepName` resolves a vertex's name. */
  observe(line: string, parsed: PlainLine, stepName: (vertex: number) => string | undefined): void {
    if (line.trim() !== '') this.lastLine = line.length > 2000 ? `${line.slice(0, 2000)}…` : line;
    if (parsed.kind === 'error') {
      this.stepError = { step: stepName(parsed.vertex), text: parsed.text };
      this.location = undefined;
      return;
    }
    if (line.startsWith('error: ')) {
      this.finalError = line.slice('error: '.length);
      return;
    }
    if (line.startsWith('panic: ') && this.panic === undefined) {
      this.panic = line;
      return;
    }
    const where = /^(\S*Dockerfile\S*|\S+\.[Dd]ockerfile):(\d+)$/.exec(line);
    if (where && this.stepError !== undefined) {
      this.location = { file: where[1] ?? '', line: Number(where[2]) };
    }
  }

  /** The explanation, or undefined when buildctl printed nothing useful. */
  failure(): BuildFailure | undefined {
    const final =
      this.finalError?.startsWith(FAILED_TO_SOLVE) === true
        ? this.finalError.slice(FAILED_TO_SOLVE.length)
        : this.finalError;
    const step = this.stepError;
    const withLocation = (message: string): BuildFailure =>
      this.location === undefined ? { message } : { message, location: this.location };
    if (step !== undefined && (final === undefined || final.includes(step.text))) {
      return withLocation(step.step === undefined ? step.text : `${step.step}: ${step.text}`);
    }
    if (final !== undefined) return { message: final };
    if (this.panic !== undefined) return { message: this.panic };
    return this.lastLine === undefined ? undefined : { message: this.lastLine };
  }
}

/**
 * A failed build, carrying where in the Dockerfile it failed: the task reports it once, as one error issue
 * at that place (and the same text as the step's result).
 */
export class BuildFailedError extends Error {
  constructor(
    message: string,
    readonly location: { readonly file: string; readonly line: number } | undefined,
  ) {
    super(message);
    this.name = 'BuildFailedError';
  }
}
