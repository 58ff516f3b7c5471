import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskDefinition } from './repo';

/** A service connection as the agent hands it to a task through ENDPOINT_* variables. */
export interface Endpoint {
  url?: string;
  scheme: string;
  parameters: Record<string, string>;
  data?: Record<string, string>;
}

export interface TaskRunOptions {
  /** The task's entry point (index.js). */
  entry: string;
  /** Inputs by name; everything else takes task.json's default, as the agent does. */
  inputs?: Record<string, string>;
  /** Pipeline variables by name (Build.BuildId, ...): set as BUILD_BUILDID, ... */
  variables?: Record<string, string>;
  endpoints?: Record<string, Endpoint>;
  /** More environment variables, taken as they are. */
  env?: Record<string, string>;
  /** Directories put first on PATH (e.g. the fake buildctl's). */
  pathPrepend?: string[];
  cwd?: string;
  timeoutMs?: number;
  /**
   * How the process starts; default `node <entry>` as the agent does. A test that must put raw bytes
   * into the environment starts it through a shell instead (the entry is then in BKB_ENTRY).
   */
  launcher?: { command: string; args: string[] };
}

export interface VsoCommand {
  name: string;
  properties: Record<string, string>;
  message: string;
}

export interface TaskRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  commands: VsoCommand[];
  /** The result of `##vso[task.complete]`, undefined when the task never reported one. */
  result: string | undefined;
  /** The message of `##vso[task.complete]`. */
  resultMessage: string | undefined;
  /** Output variables set with `##vso[task.setvariable]`, by name. */
  variables: Record<string, string>;
  /** The agent's own temp directory for this run (Agent.TempDirectory). */
  tempDirectory: string;
}

/** Undoes task-lib's escaping of command data and properties. */
export const unescapeData = (s: string) =>
  s
    .replace(/%0D/gi, '\r')
    .replace(/%0A/gi, '\n')
    .replace(/%5D/gi, ']')
    .replace(/%3B/gi, ';')
    // task-lib 5 escapes a literal % as %AZP25 (not %25); undone last, like task-lib does.
    .replace(/%AZP25/g, '%');

export function parseVsoCommands(stdout: string): VsoCommand[] {
  const commands: VsoCommand[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const match = /##vso\[([\w.]+)([^\]]*)\](.*)$/.exec(line);
    if (!match) continue;
    const properties: Record<string, string> = {};
    for (const pair of (match[2] ?? '').trim().split(';')) {
      const at = pair.indexOf('=');
      if (at > 0) properties[pair.slice(0, at).trim()] = unescapeData(pair.slice(at + 1));
    }
    commands.push({ name: match[1] ?? '', properties, message: unescapeData(match[3] ?? '') });
  }
  return commands;
}

export const variableKey = (name: string): string => name.replace(/\./g, '_').toUpperCase();

/** Expands `$(Some.Variable)` macros in a default value the way the agent does. */
function expandMacros(value: string, variables: Record<string, string>): string {
  return value.replace(/\$\(([\w.]+)\)/g, (whole, name: string) => variables[name] ?? whole);
}

/** The environment the agent gives a task: inputs, variables, endpoints; nothing of the test's own. */
export function agentEnvironment(
  options: TaskRunOptions,
  tempDirectory: string,
  home: string = process.env.HOME ?? os.homedir(),
): Record<string, string> {
  const variables: Record<string, string> = {
    'Agent.TempDirectory': tempDirectory,
    'Agent.ToolsDirectory': path.join(tempDirectory, '..', 'tools'),
    'Agent.Version': '4.266.2',
    'Build.BuildId': '4242',
    'System.DefaultWorkingDirectory': options.cwd ?? tempDirectory,
    'System.HostType': 'build',
    ...options.variables,
  };
  const env: Record<string, string> = {
    PATH: [...(options.pathPrepend ?? []), process.env.PATH ?? ''].join(path.delimiter),
    HOME: home,
  };
  for (const [name, value] of Object.entries(variables)) env[variableKey(name)] = value;
  for (const input of taskDefinition().inputs) {
    const value = options.inputs?.[input.name] ?? expandMacros(input.defaultValue ?? '', variables);
    env[`INPUT_${variableKey(input.name)}`] = value;
  }
  for (const name of Object.keys(options.inputs ?? {})) {
    if (!(`INPUT_${variableKey(name)}` in env)) throw new Error(`test sets unknown input ${name}`);
  }
  for (const [id, endpoint] of Object.entries(options.endpoints ?? {})) {
    const key = id.toUpperCase();
    if (endpoint.url !== undefined) env[`ENDPOINT_URL_${key}`] = endpoint.url;
    env[`ENDPOINT_AUTH_${key}`] = JSON.stringify({
      scheme: endpoint.scheme,
      parameters: endpoint.parameters,
    });
    env[`ENDPOINT_AUTH_SCHEME_${key}`] = endpoint.scheme;
    for (const [name, value] of Object.entries(endpoint.parameters)) {
      env[`ENDPOINT_AUTH_PARAMETER_${key}_${name.toUpperCase()}`] = value;
    }
    for (const [name, value] of Object.entries(endpoint.data ?? {})) {
      env[`ENDPOINT_DATA_${key}_${name.toUpperCase()}`] = value;
    }
  }
  return { ...env, ...options.env };
}

export interface StartedTask {
  child: ChildProcess;
  /** Resolves once the first line containing `text` has been printed; rejects if the task ends first. */
  waitForOutput(text: string): Promise<void>;
  done: Promise<TaskRun>;
}

/** Starts the task as the agent does: `node index.js` with the agent's environment contract. */
export function startTask(options: TaskRunOptions): StartedTask {
  const tempDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-agent-temp-'));
  // A HOME of its own, never the developer's: whatever the task writes there stays in the test's temp.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-agent-home-'));
  const env = agentEnvironment(options, tempDirectory, home);
  const launcher = options.launcher ?? { command: process.execPath, args: [options.entry] };
  const child = spawn(launcher.command, launcher.args, {
    cwd: options.cwd ?? tempDirectory,
    env: options.launcher ? { ...env, BKB_NODE: process.execPath, BKB_ENTRY: options.entry } : env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ended: string | undefined;
  const waiters: { text: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of waiters.filter((w) => stdout.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const done = new Promise<TaskRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timeout);
      const commands = parseVsoCommands(stdout);
      const complete = commands.filter((c) => c.name === 'task.complete').at(-1);
      const variables: Record<string, string> = {};
      for (const c of commands.filter((c) => c.name === 'task.setvariable')) {
        const name = c.properties.variable;
        if (name !== undefined) variables[name] = c.message;
      }
      resolve({
        exitCode,
        signal,
        stdout,
        stderr,
        commands,
        result: complete?.properties.result,
        resultMessage: complete?.message,
        variables,
        tempDirectory,
      });
      // A wait for a line the task never printed ends with the task, saying which line and what it printed
      // (after `done` settles, so that a race between the two still sees the run).
      ended = `the task ended (${String(exitCode ?? signal)})`;
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`${ended} without printing ${JSON.stringify(waiter.text)}:\n${stdout}`));
      }
    });
  });
  const waitForOutput = (text: string) =>
    stdout.includes(text)
      ? Promise.resolve()
      : ended !== undefined
        ? Promise.reject(new Error(`${ended} without printing ${JSON.stringify(text)}:\n${stdout}`))
        : new Promise<void>((resolve, reject) => waiters.push({ text, resolve, reject }));
  return { child, waitForOutput, done };
}

export function runTask(options: TaskRunOptions): Promise<TaskRun> {
  return startTask(options).done;
}
