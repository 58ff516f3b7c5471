import * as path from 'node:path';
import type { BuildInputs } from '../buildInputs/spec';
import type { RunContext } from '../core/context';
import type { InputProblem } from '../core/inputErrors';
import type { InputName } from '../core/inputs';
import { buildctlBuildArgs } from './args';

/** What the operating system lets one process start with (argv and environment). */
export interface CommandLineLimits {
  /** Longest single argument or environment string, in bytes (Linux MAX_ARG_STRLEN less its NUL). */
  readonly wordBytes: number | undefined;
  /** The whole: arguments and environment strings, NULs and pointers included (ARG_MAX); Windows: characters. */
  readonly totalBytes: number;
  /** How the limit is named in messages. */
  readonly system: string;
}

/**
 * Linux: 32 pages per string (MAX_ARG_STRLEN, 131072 with the NUL) and, with the usual 8 MiB stack, 2 MiB
 * for everything (a quarter of the stack limit). macOS: ARG_MAX 1 MiB for everything. Windows: a command
 * line of 32767 characters (CreateProcess).
 */
export function commandLineLimits(platform: NodeJS.Platform): CommandLineLimits {
  if (platform === 'win32') return { wordBytes: undefined, totalBytes: 32_767, system: 'Windows' };
  if (platform === 'darwin') return { wordBytes: undefined, totalBytes: 1_048_576, system: 'macOS' };
  return { wordBytes: 131_071, totalBytes: 2_097_152, system: platform === 'linux' ? 'Linux' : platform };
}

const FLAG_INPUT: Readonly<Record<string, InputName>> = {
  '--addr': 'buildkitAddress',
  '--tlscacert': 'tlsCaCert',
  '--tlscert': 'tlsCert',
  '--tlskey': 'tlsKey',
  '--tlsservername': 'tlsServerName',
  '--output': 'tags',
  '--secret': 'secrets',
  '--import-cache': 'cacheFrom',
  '--export-cache': 'cacheTo',
};

const OPT_INPUT: readonly [string, InputName][] = [
  ['build-arg:', 'buildArgs'],
  ['label:', 'labels'],
  ['context:', 'buildContexts'],
  ['platform=', 'platforms'],
  ['target=', 'target'],
  ['filename=', 'dockerfile'],
];

/** The task's flags that take a value (the next word). */
const VALUE_FLAGS = new Set([...Object.keys(FLAG_INPUT), '--opt', '--local', '--metadata-file']);

/** The input the value of `flag` comes from, or undefined for the task's own. */
function inputOf(flag: string, value: string, inputs: BuildInputs): InputName | undefined {
  if (flag === '--opt') return OPT_INPUT.find(([prefix]) => value.startsWith(prefix))?.[1];
  if (flag === '--local') {
    return value.startsWith('context=')
      ? 'context'
      : value.startsWith('dockerfile=')
        ? 'dockerfile'
        : 'buildContexts';
  }
  if (inputs.cache.kind === 'registry') {
    const { imports, export: exported } = inputs.cache;
    if ([...imports, exported].some((ref) => value.startsWith(`type=registry,ref=${ref}`))) return 'cacheRef';
  }
  return FLAG_INPUT[flag];
}

/**
 * Pure: the problems the operating system would report only when starting buildctl (`spawn E2BIG`), found
 * up front from the argv the inputs make (with the longest daemon address and a metadata path under the
 * agent's temp directory) and the task's environment; each names the input that makes the argv too long.
 */
export function commandLineProblems(
  inputs: BuildInputs,
  ctx: RunContext,
  limits: CommandLineLimits = commandLineLimits(ctx.platform),
): InputProblem[] {
  const address = inputs.daemon.addresses.reduce(
    (a, b) => (b.length > a.length ? b : a),
    'unix:///run/x/buildkitd.sock',
  );
  const metadataFile = path.join(
    ctx.variable('Agent.TempDirectory') ?? '/tmp',
    'buildkit-build-XXXXXX',
    'metadata.json',
  );
  const args = buildctlBuildArgs(inputs, { address, tls: inputs.daemon.tls }, metadataFile);
  const firstExtra = args.length - inputs.extraArgs.length;
  const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
  const windows = ctx.platform === 'win32';
  // Windows counts characters of one quoted command line; elsewhere bytes, a NUL and a pointer per string.
  const cost = (word: string): number => (windows ? word.length + 3 : bytes(word) + 1 + 8);
  const perInput = new Map<InputName, number>();
  const problems: InputProblem[] = [];
  let total = cost('buildctl');
  const count = (input: InputName | undefined, words: readonly string[]): void => {
    for (const word of words) {
      total += cost(word);
      if (input === undefined) continue;
      perInput.set(input, (perInput.get(input) ?? 0) + cost(word));
      const wordBytes = bytes(word);
      if (
        limits.wordBytes !== undefined &&
        wordBytes > limits.wordBytes &&
        !problems.some((p) => p.input === input)
      ) {
        problems.push({
          input,
          message: ctx.loc('LimitWordTooLong', wordBytes, limits.wordBytes, limits.system),
        });
      }
    }
  };
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? '';
    const value = args[i + 1];
    if (i < firstExtra && VALUE_FLAGS.has(word) && value !== undefined && i + 1 < firstExtra) {
      count(inputOf(word, value, inputs), [word, value]);
      i++;
    } else {
      count(i >= firstExtra ? 'extraArgs' : undefined, [word]);
    }
  }
  if (!windows)
    for (const [name, value] of Object.entries(ctx.env))
      if (value !== undefined) total += cost(`${name}=${value}`);
  if (problems.length === 0 && total > limits.totalBytes) {
    const [largest] = [...perInput].sort((a, b) => b[1] - a[1]);
    if (largest !== undefined) {
      problems.push({
        input: largest[0],
        message: ctx.loc('LimitCommandTooLong', total, limits.totalBytes, limits.system, largest[1]),
      });
    }
  }
  return problems;
}
