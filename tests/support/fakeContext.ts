import * as fs from 'node:fs';
import * as util from 'node:util';
import type {
  EndpointReader,
  HttpProxy,
  Log,
  Publisher,
  RunContext,
} from '../../tasks/BuildKitBuild/src/core/context';
import type { Localize } from '../../tasks/BuildKitBuild/src/core/localize';
import type { Endpoint } from './agent';
import { taskDefinition } from './repo';

/** Everything a RunContext built by makeContext was told, in the order it was told. */
export interface Recorded {
  /** Every log call as the agent would print it: info as is, `##[warning]...`, `##[group]...`, ... */
  readonly lines: string[];
  readonly infos: string[];
  readonly warnings: string[];
  readonly debugs: string[];
  /** Titles of the groups opened. */
  readonly groups: string[];
  /** Values passed to setSecret (empty strings included: the caller decides what to mask). */
  readonly secrets: string[];
  readonly outputs: { name: string; value: string }[];
  /** Summaries uploaded, with the file's content read at upload time and the section's title. */
  readonly summaries: { path: string; content: string; title: string }[];
  readonly issues: { message: string; location?: { file: string; line?: number } }[];
}

export interface FakeContextOptions {
  /** Pipeline variables by name (`Build.BuildId`), looked up case-insensitively as the agent does. */
  variables?: Record<string, string>;
  /** The task's environment; empty by default (never the test process's own). */
  env?: Record<string, string | undefined>;
  /** Service connections by id, in the shape tests/support/agent.ts uses. */
  endpoints?: Record<string, Endpoint>;
  platform?: NodeJS.Platform;
  arch?: string;
  /** The agent's proxy, for every URL; none by default. */
  httpProxy?: HttpProxy;
}

export interface FakeContext extends RunContext {
  readonly recorded: Recorded;
}

/** A Localize over task.json's messages (util.format, as task-lib does); an undeclared key throws. */
export function localizer(messages: Readonly<Record<string, string>> = taskDefinition().messages): Localize {
  return (key, ...args) => {
    const template = messages[key];
    if (template === undefined) throw new Error(`message key ${key} is not declared in task.json`);
    return util.format(template, ...args);
  };
}

function lookup<T>(table: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  if (table === undefined) return undefined;
  const wanted = name.toLowerCase();
  const key = Object.keys(table).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : table[key];
}

function endpointReader(endpoints: Readonly<Record<string, Endpoint>>): EndpointReader {
  return {
    url: (id) => lookup(endpoints, id)?.url,
    scheme: (id) => lookup(endpoints, id)?.scheme,
    authParameter: (id, key) => lookup(lookup(endpoints, id)?.parameters, key),
    data: (id, key) => lookup(lookup(endpoints, id)?.data, key),
  };
}

/** A RunContext for unit tests: real task.json texts, recorded log and publications, no task-lib. */
export function makeContext(options: FakeContextOptions = {}): FakeContext {
  const recorded: Recorded = {
    lines: [],
    infos: [],
    warnings: [],
    debugs: [],
    groups: [],
    secrets: [],
    outputs: [],
    summaries: [],
    issues: [],
  };
  const log: Log = {
    info: (message) => {
      recorded.infos.push(message);
      recorded.lines.push(message);
    },
    warning: (message) => {
      recorded.warnings.push(message);
      recorded.lines.push(`##[warning]${message}`);
    },
    debug: (message) => {
      recorded.debugs.push(message);
      recorded.lines.push(`##[debug]${message}`);
    },
    group: (title) => {
      recorded.groups.push(title);
      recorded.lines.push(`##[group]${title}`);
      return () => {
        recorded.lines.push('##[endgroup]');
      };
    },
    setSecret: (value) => {
      recorded.secrets.push(value);
    },
    registeredSecrets: () => recorded.secrets.filter((s) => s !== ''),
  };
  const publish: Publisher = {
    setOutput: (name, value) => {
      recorded.outputs.push({ name, value });
    },
    uploadSummary: (markdownPath, title) => {
      recorded.summaries.push({ path: markdownPath, content: fs.readFileSync(markdownPath, 'utf8'), title });
    },
    logIssue: (message, location) => {
      recorded.issues.push(location === undefined ? { message } : { message, location });
    },
  };
  const variables = { ...(options.variables ?? {}) };
  return {
    loc: localizer(),
    log,
    publish,
    variable: (name) => lookup(variables, name),
    env: { ...(options.env ?? {}) },
    endpoints: endpointReader(options.endpoints ?? {}),
    platform: options.platform ?? 'linux',
    arch: options.arch ?? 'x64',
    httpProxy: () => options.httpProxy,
    recorded,
  };
}
