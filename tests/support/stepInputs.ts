import { readInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { parseTaskSpec, type TaskSpec } from '../../tasks/BuildKitBuild/src/spec';
import { agentEnvironment, variableKey, type Endpoint } from './agent';
import { makeContext, type FakeContext } from './fakeContext';

/** One pipeline step as a YAML author writes it: its inputs, and what the agent around it holds. */
export interface Step {
  /** The step's inputs by name; every other input takes task.json's default, as the agent gives it. */
  inputs: Record<string, string>;
  /** Pipeline variables by name (Build.BuildId, ...), besides the agent's own. */
  variables?: Record<string, string>;
  endpoints?: Record<string, Endpoint>;
  /** The task's environment (a build secret's variable); the test process's own is never used. */
  env?: Record<string, string>;
  /** The working directory (System.DefaultWorkingDirectory), where relative paths start. */
  workspace: string;
}

export interface ParsedStep {
  /** The `INPUT_*`, variable and endpoint environment the agent hands the task for this step. */
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly ctx: FakeContext;
}

/**
 * A RunContext for a step, fed from the very environment a black-box run of the bundled task gets
 * (tests/support/agent.ts): pipeline variables are read back from their environment keys, as task-lib does.
 */
export function stepContext(step: Step): ParsedStep {
  const agentEnv = agentEnvironment(
    {
      entry: '',
      inputs: step.inputs,
      variables: step.variables ?? {},
      endpoints: step.endpoints ?? {},
      cwd: step.workspace,
    },
    step.workspace,
  );
  const base = makeContext({ env: step.env ?? {}, endpoints: step.endpoints ?? {} });
  const ctx: FakeContext = { ...base, variable: (name) => agentEnv[variableKey(name)] };
  return { agentEnv, ctx };
}

/** The step's inputs read from its `INPUT_*` variables (readInputs) and validated (parseTaskSpec). */
export function parseStep(step: Step): TaskSpec & { readonly ctx: FakeContext } {
  const { agentEnv, ctx } = stepContext(step);
  const raw = readInputs((name) => agentEnv[`INPUT_${variableKey(name)}`]);
  return { ...parseTaskSpec(raw, ctx), ctx };
}
