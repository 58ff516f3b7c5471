import * as os from 'node:os';
import * as tl from 'azure-pipelines-task-lib/task';
import type { EndpointReader, Log, RunContext } from './context';

const endpoints: EndpointReader = {
  url: (id) => tl.getEndpointUrl(id, true),
  scheme: (id) => tl.getEndpointAuthorizationScheme(id, true),
  authParameter: (id, key) => tl.getEndpointAuthorizationParameter(id, key, true),
  data: (id, key) => tl.getEndpointDataParameter(id, key, true),
};

const log: Log = {
  info: (message) => {
    console.log(message);
  },
  warning: (message) => {
    tl.warning(message);
  },
  error: (message) => {
    tl.error(message);
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

/** The run's context as task-lib sees it: the real agent environment. */
export function taskContext(): RunContext {
  return {
    loc: tl.loc,
    log,
    variable: (name) => tl.getVariable(name),
    env: process.env,
    endpoints,
    platform: process.platform,
    arch: os.arch(),
  };
}
