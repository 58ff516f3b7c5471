import type { InputName } from './inputs';

/** One problem with one input (and, for multi-line inputs, one line of it). */
export interface InputProblem {
  readonly input: InputName;
  /** 1-based line of a multi-line input. */
  readonly line?: number;
  readonly message: string;
}

/** Thrown when inputs are invalid; carries every problem found, not just the first. */
export class InputError extends Error {
  constructor(readonly problems: readonly InputProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }
}

export function formatProblem(problem: InputProblem): string {
  const where = problem.line === undefined ? problem.input : `${problem.input} (line ${problem.line})`;
  return `${where}: ${problem.message}`;
}
