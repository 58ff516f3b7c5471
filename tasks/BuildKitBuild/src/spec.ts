import { parseBuildInputs, type BuildInputs } from './buildInputs/spec';
import { commandLineProblems } from './buildctl/limits';
import type { RunContext } from './core/context';
import { InputError, type InputProblem } from './core/inputErrors';
import type { RawInputs } from './core/inputs';
import { parseRegistry, registryHost, type RegistrySpec } from './registry/spec';
import { parseTool, type ToolSpec } from './tool/spec';

/** The validated inputs: everything the run needs, in typed form. */
export interface TaskSpec {
  readonly registry: RegistrySpec;
  readonly tool: ToolSpec;
  readonly build: BuildInputs;
}

/** Validates every input; throws one InputError carrying every problem when any is found. */
export function parseTaskSpec(raw: RawInputs, ctx: RunContext): TaskSpec {
  const problems: InputProblem[] = [];
  const registry = parseRegistry(raw, ctx, problems);
  const tool = parseTool(raw, ctx, problems);
  const build = parseBuildInputs(raw, ctx, registryHost(registry), problems);
  // Limits of the operating system, checked before anything runs (credentials included), once the inputs
  // they depend on are valid.
  if (problems.length === 0) problems.push(...commandLineProblems(build, ctx));
  if (problems.length > 0) throw new InputError(problems);
  return { registry, tool, build };
}
