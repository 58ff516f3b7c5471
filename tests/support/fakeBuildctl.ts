import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './repo';

/** The directory holding the fake `buildctl` executable: put it first on PATH (pathPrepend). */
export const fakeBuildctlDir = path.join(repoRoot, 'tests', 'fixtures', 'fake-buildctl');
export const fakeBuildctlPath = path.join(fakeBuildctlDir, 'buildctl');

/** One run of the fake, as it recorded itself in FAKE_BUILDCTL_RECORD_DIR. */
export interface FakeBuildctlInvocation {
  argv: string[];
  cwd: string;
  env: {
    DOCKER_CONFIG?: string;
    BUILDKIT_HOST?: string;
    GRPC_ENFORCE_ALPN_ENABLED?: string;
    HTTPS_PROXY?: string;
    NO_PROXY?: string;
  };
  /** The parsed $DOCKER_CONFIG/config.json, or null when DOCKER_CONFIG was unset or unreadable. */
  dockerConfig: unknown;
  dockerConfigError: string | null;
  pid: number;
  /** Epoch milliseconds (fractional): orders invocations across processes. */
  startedAt: number;
  /** The signal it received, if any. */
  signal?: string;
  exitCode?: number;
}

/** Behaviours on demand (each maps to one FAKE_BUILDCTL_* variable). */
export interface FakeBuildctlBehaviour {
  version?: string;
  digest?: string;
  /** The `RUN make` step fails with this exit code. */
  failStep?: number;
  /** The `RUN make` step lasts this long (for cancellation). */
  slowMs?: number;
  crash?: boolean;
  floodMb?: number;
  /** A file the flood appends to, each time stderr is full: the seq of the last line written, one a line. */
  floodBlockedFile?: string;
  cacheExportFail?: boolean;
  /** The cache model: a loopback "registry" directory for --import-cache/--export-cache type=registry. */
  cacheDir?: string;
  /** With cacheDir: ms to pull the base image on an empty daemon, and to pull one cached layer. */
  pullMs?: number;
  layerMs?: number;
  /** Pushing the name with this tag fails (the names before it were pushed, the ones after it are not). */
  pushFailTag?: string;
  /** The first `times` builds fail their first push with a transient error, counted in `stateFile`. */
  pushTransient?: { kind: '503' | '429' | 'reset' | 'eof'; times: number; stateFile: string };
  /** The registry refuses attestation manifests in the OCI artifact form. */
  refuseOciArtifact?: boolean;
  /** What the `RUN` step prints, line by line. */
  runOutput?: string;
  /** A file whose text the `RUN` step prints, line by line (for lines longer than an environment string). */
  runOutputFile?: string;
  /** The `RUN` instruction as the Dockerfile spells it, which BuildKit prints as the step's name. */
  runInstruction?: string;
}

/** The environment that makes the fake record into `recordDir` and behave as asked. */
export function fakeBuildctlEnv(
  recordDir: string,
  behaviour: FakeBuildctlBehaviour = {},
): Record<string, string> {
  const env: Record<string, string> = { FAKE_BUILDCTL_RECORD_DIR: recordDir };
  if (behaviour.version !== undefined) env.FAKE_BUILDCTL_VERSION = behaviour.version;
  if (behaviour.digest !== undefined) env.FAKE_BUILDCTL_DIGEST = behaviour.digest;
  if (behaviour.failStep !== undefined) env.FAKE_BUILDCTL_FAIL_STEP = String(behaviour.failStep);
  if (behaviour.slowMs !== undefined) env.FAKE_BUILDCTL_SLOW_MS = String(behaviour.slowMs);
  if (behaviour.crash === true) env.FAKE_BUILDCTL_CRASH = '1';
  if (behaviour.floodMb !== undefined) env.FAKE_BUILDCTL_FLOOD_MB = String(behaviour.floodMb);
  if (behaviour.floodBlockedFile !== undefined) env.FAKE_BUILDCTL_FLOOD_BLOCKED = behaviour.floodBlockedFile;
  if (behaviour.cacheExportFail === true) env.FAKE_BUILDCTL_CACHE_EXPORT_FAIL = '1';
  if (behaviour.cacheDir !== undefined) env.FAKE_BUILDCTL_CACHE_DIR = behaviour.cacheDir;
  if (behaviour.pullMs !== undefined) env.FAKE_BUILDCTL_PULL_MS = String(behaviour.pullMs);
  if (behaviour.layerMs !== undefined) env.FAKE_BUILDCTL_LAYER_MS = String(behaviour.layerMs);
  if (behaviour.pushFailTag !== undefined) env.FAKE_BUILDCTL_PUSH_FAIL_TAG = behaviour.pushFailTag;
  if (behaviour.pushTransient !== undefined) {
    env.FAKE_BUILDCTL_PUSH_TRANSIENT = `${behaviour.pushTransient.kind}:${behaviour.pushTransient.times}`;
    env.FAKE_BUILDCTL_PUSH_TRANSIENT_STATE = behaviour.pushTransient.stateFile;
  }
  if (behaviour.refuseOciArtifact === true) env.FAKE_BUILDCTL_REFUSE_OCI_ARTIFACT = '1';
  if (behaviour.runOutput !== undefined) env.FAKE_BUILDCTL_RUN_OUTPUT = behaviour.runOutput;
  if (behaviour.runOutputFile !== undefined) env.FAKE_BUILDCTL_RUN_OUTPUT_FILE = behaviour.runOutputFile;
  if (behaviour.runInstruction !== undefined) env.FAKE_BUILDCTL_RUN_INSTRUCTION = behaviour.runInstruction;
  return env;
}

/** Every invocation recorded in `recordDir`, oldest first. */
export function readInvocations(recordDir: string): FakeBuildctlInvocation[] {
  return fs
    .readdirSync(recordDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(recordDir, f), 'utf8')) as FakeBuildctlInvocation)
    .sort((a, b) => a.startedAt - b.startedAt);
}

/** The subcommand of an invocation: 'build', 'debug workers', '--version', ... (after global flags). */
export function commandOf(invocation: FakeBuildctlInvocation): string {
  const argv = invocation.argv;
  if (argv.includes('--version')) return '--version';
  const at = argv.findIndex((a) => a === 'build' || a === 'b' || a === 'debug');
  if (at < 0) return '';
  return argv[at] === 'debug' ? `debug ${argv[at + 1] ?? ''}` : 'build';
}

/** The value following `flag` in an argv (global or command flag), or undefined. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  if (at >= 0) return argv[at + 1];
  const joined = argv.find((a) => a.startsWith(`${flag}=`));
  return joined?.slice(flag.length + 1);
}

export interface FakeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the fake directly (for tests of the fake itself and of code that spawns buildctl). */
export function runFakeBuildctl(args: string[], env: Record<string, string> = {}): Promise<FakeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(fakeBuildctlPath, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}
