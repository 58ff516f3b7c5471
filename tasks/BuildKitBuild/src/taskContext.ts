import * as os from 'node:os';
import * as tl from 'azure-pipelines-task-lib/task';
import * as tlInternal from 'azure-pipelines-task-lib/internal';
import { attachmentName, maskSecrets, neutralizeCommands } from './core/agentText';
import type { EndpointReader, HttpProxy, Log, Publisher, RunContext } from './core/context';

const endpoints: EndpointReader = {
  url: (id) => tl.getEndpointUrl(id, true),
  scheme: (id) => tl.getEndpointAuthorizationScheme(id, true),
  // Not getEndpointAuthorizationParameter: it writes the value (a secret) into the debug log.
  authParameter: (id, key) => {
    const parameters = tl.getEndpointAuthorization(id, true)?.parameters ?? {};
    const name = Object.keys(parameters).find((k) => k.toLowerCase() === key.toLowerCase());
    return name === undefined ? undefined : parameters[name];
  },
  data: (id, key) => tl.getEndpointDataParameter(id, key, true),
};

/** Values registered with setSecret: masked here before anything is written, and never cut in two. */
const registeredSecrets = new Set<string>();

/**
 * The one place that writes to the agent. Every text that may hold outside text (build output, registry
 * errors, inputs) is masked and then made inert (agentText.ts) before it reaches stdout or a command's data.
 */
function plain(text: string): string {
  return neutralizeCommands(maskSecrets(text, registeredSecrets));
}

/** A group title is one line: a line break would start a line the agent reads on its own. */
function oneLine(text: string): string {
  return plain(text).replace(/[\r\n]+/g, ' ');
}

/** The attachment type of a Markdown section on the run's summary page (agent: CoreAttachmentType.Summary). */
const SUMMARY_ATTACHMENT = 'Distributedtask.Core.Summary';

const log: Log = {
  info: (message) => {
    console.log(plain(message));
  },
  warning: (message) => {
    tl.warning(plain(message));
  },
  debug: (message) => {
    tl.debug(plain(message));
  },
  group: (title) => {
    console.log(`##[group]${oneLine(title)}`);
    return () => {
      console.log('##[endgroup]');
    };
  },
  setSecret: (value) => {
    // The agent masks line by line, and task-lib refuses a value with a line break ("Secrets cannot contain
    // multiple lines"): a multi-line value (an .npmrc or a key in a build secret's variable) is registered
    // one line at a time, as the agent does with its own multi-line secret variables.
    for (const line of value.split(/\r\n|\r|\n/)) {
      if (line === '') continue;
      registeredSecrets.add(line);
      tl.setSecret(line);
    }
  },
  registeredSecrets: () => [...registeredSecrets],
};

const publish: Publisher = {
  setOutput: (name, value) => {
    tl.setVariable(name, value, false, true);
  },
  uploadSummary: (markdownPath, title) => {
    tl.addAttachment(SUMMARY_ATTACHMENT, attachmentName(title), markdownPath);
  },
  logIssue: (message, location) => {
    tl.logIssue(tl.IssueType.Error, plain(message), location?.file, location?.line);
  },
};

export type TaskOutcome = 'Succeeded' | 'Failed' | 'Cancelled';

/**
 * Reports the task's result once: a failure becomes one error issue (at the file and line when known)
 * and the `task.complete` carrying the same text, which the agent shows as the step's last status and does
 * not turn into a second issue.
 */
export function reportResult(
  outcome: TaskOutcome,
  message: string,
  location?: { file: string; line?: number },
): void {
  const text = plain(message);
  if (outcome === 'Failed') publish.logIssue(text, location);
  tl.command('task.complete', { result: outcome }, text);
}

/**
 * The agent's proxy for a URL, through task-lib (which applies Agent.ProxyBypassList). User name and
 * password stay as the agent holds them (not URL-encoded): whoever builds a proxy URL from them encodes
 * them (registry/proxySettings.ts).
 */
function httpProxy(requestUrl: string): HttpProxy | undefined {
  const config = tl.getHttpProxyConfiguration(requestUrl);
  if (config === null) return undefined;
  const url = new URL(config.proxyUrl);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (config.proxyPassword) {
    log.setSecret(config.proxyPassword);
    // The form it takes inside a proxy URL (registry/proxySettings.ts), should a library ever print one.
    const encoded = encodeURIComponent(config.proxyPassword);
    if (encoded !== config.proxyPassword) log.setSecret(encoded);
  }
  return {
    host: `${url.protocol}//${url.hostname}`,
    port,
    ...(config.proxyUsername ? { username: config.proxyUsername } : {}),
    ...(config.proxyPassword ? { password: config.proxyPassword } : {}),
  };
}

/**
 * One input as the agent handed it over, read from task-lib's store like tl.getInput but without its
 * debug echo (`##vso[task.debug]<name>=<value>`): that line is written before the task could register any
 * part of the value as a secret, so a SAS signature in buildkitDownloadUrl would show in every debug run.
 */
export function readInputQuietly(name: string): string | undefined {
  return tlInternal._vault.retrieveSecret(`INPUT_${tlInternal._getVariableKey(name)}`);
}

/** The run's context as task-lib sees it: the real agent environment. */
export function taskContext(): RunContext {
  return {
    loc: tl.loc,
    log,
    publish,
    variable: (name) => tl.getVariable(name),
    env: process.env,
    endpoints,
    httpProxy,
    platform: process.platform,
    arch: os.arch(),
  };
}
