import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { InputError, formatProblem } from './inputErrors';
import { readInputs } from './inputs';
import { validateInputs } from './validate';

async function run(): Promise<void> {
  const raw = readInputs((name) => tl.getInput(name, false));
  const problems = validateInputs(raw, tl.loc);
  if (problems.length > 0) throw new InputError(problems);
  await Promise.resolve();
  throw new Error(tl.loc('NotImplemented'));
}

function describeFailure(error: unknown): string {
  if (error instanceof InputError) {
    return tl.loc('InputProblems', error.problems.length, error.problems.map(formatProblem).join('\n'));
  }
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  tl.setResourcePath(path.join(__dirname, 'task.json'));
  try {
    await run();
  } catch (error: unknown) {
    tl.setResult(tl.TaskResult.Failed, describeFailure(error));
  }
}

void main();
