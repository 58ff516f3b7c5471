import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseBuildInputs, type BuildInputs } from '../../tasks/BuildKitBuild/src/buildInputs/spec';
import type { InputProblem } from '../../tasks/BuildKitBuild/src/core/inputErrors';
import { INPUT_NAMES, type InputName, type RawInputs } from '../../tasks/BuildKitBuild/src/core/inputs';
import { makeContext } from './fakeContext';
import { taskDefinition } from './repo';

/** Writes a small build context (Dockerfile and a file) into `dir`. */
export function writeBuildContext(dir: string): void {
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    'FROM alpine:3.20\nRUN make\nCOPY entrypoint.sh /usr/local/bin/\n',
  );
  fs.writeFileSync(path.join(dir, 'entrypoint.sh'), '#!/bin/sh\n');
}

/** Validated BuildInputs for a context in `dir`, through the real parser with task.json's defaults. */
export function buildInputsFor(
  dir: string,
  inputs: Partial<Record<InputName, string>> = {},
  registryHost = 'r.example',
): BuildInputs {
  const ctx = makeContext({
    variables: { 'System.DefaultWorkingDirectory': dir, 'Build.BuildId': '42', 'Agent.TempDirectory': dir },
  });
  const defaults = new Map(taskDefinition().inputs.map((i) => [i.name, i.defaultValue ?? '']));
  const raw = Object.fromEntries(
    INPUT_NAMES.map((name) => [
      name,
      inputs[name] ?? (defaults.get(name) ?? '').replace('$(Build.BuildId)', '42'),
    ]),
  ) as RawInputs;
  const problems: InputProblem[] = [];
  const parsed = parseBuildInputs(
    { ...raw, repository: inputs.repository ?? 'team/app' },
    ctx,
    registryHost,
    problems,
  );
  if (problems.length > 0) throw new Error(`test inputs invalid: ${JSON.stringify(problems)}`);
  return parsed;
}
