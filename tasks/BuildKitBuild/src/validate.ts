import type { InputProblem } from './inputErrors';
import type { RawInputs } from './inputs';
import type { Localize } from './localize';

/** Checks the inputs before anything runs and returns every problem found. */
export function validateInputs(raw: RawInputs, loc: Localize): InputProblem[] {
  const problems: InputProblem[] = [];
  if (raw.repository.trim() === '') {
    problems.push({ input: 'repository', message: loc('RepositoryRequired') });
  }
  return problems;
}
