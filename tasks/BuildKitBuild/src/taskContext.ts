import * as os from 'node:os';
import * as tl from 'azure-pipelines-task-lib/task';
import type { EndpointReader, HttpProxy, Log, Publisher, RunContext } from './context';

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

const log: Log = {
  info: (message) => {
    console.log(message);
  },
  warning: (message) => {
    tl.warning(message);
  },
  debug: (message) => {
    tl.debug(message);
  },
  group: (title) => {
    console.log(`##[group]${title}`);
    return () => {
      console.log('##[endgroup]');
    };
  },
  setSecret: (value) => {
    if (value !== '') tl.setSecret(value);
  },
};

const publish: Publisher = {
  setOutput: (name, value) => {
    tl.setVariable(name, value, false, true);
  },
  uploadSummary: (markdownPath) => {
    tl.uploadSummary(markdownPath);
  },
  logIssue: (message, location) => {
    tl.logIssue(tl.IssueType.Error, message, location?.file, location?.line);
  },
};

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
    tl.setSecret(config.proxyPassword);
    // The form it takes inside a proxy URL (registry/proxySettings.ts), should a library ever print one.
    const encoded = encodeURIComponent(config.proxyPassword);
    if (encoded !== config.proxyPassword) tl.setSecret(encoded);
  }
  return {
    host: `${url.protocol}//${url.hostname}`,
    port,
    ...(config.proxyUsername ? { username: config.proxyUsername } : {}),
    ...(config.proxyPassword ? { password: config.proxyPassword } : {}),
  };
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
