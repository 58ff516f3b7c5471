import type { RunContext } from '../core/context';

/** An environment handed to a child process; undefined values are left out. */
export type ChildEnv = Readonly<Record<string, string | undefined>>;

/** The agent's web proxy as its variables give it (Agent.ProxyUrl and its companions). */
export interface AgentProxySettings {
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Agent.ProxyBypassList: regular expressions matched against request URLs. */
  readonly bypass: readonly string[];
}

/** What the processes the task starts get from the agent's proxy. */
export interface ProxyEnvironment {
  /** HTTP_PROXY, HTTPS_PROXY, NO_PROXY and their lowercase twins. */
  readonly vars: Readonly<Record<string, string>>;
  /** Bypass entries that have no NO_PROXY form (regular expressions other than host names). */
  readonly skipped: readonly string[];
}

/** The variables that carry a proxy to Go programs (net/http's ProxyFromEnvironment) and most others. */
export const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/** Reads the agent's proxy settings; undefined when Agent.ProxyUrl is unset or not a URL. */
export function agentProxySettings(
  variable: (name: string) => string | undefined,
): AgentProxySettings | undefined {
  const url = variable('Agent.ProxyUrl')?.trim() ?? '';
  if (url === '' || !URL.canParse(url)) return undefined;
  let bypass: readonly string[] = [];
  try {
    const parsed: unknown = JSON.parse(variable('Agent.ProxyBypassList') || '[]');
    if (Array.isArray(parsed)) bypass = parsed.filter((entry): entry is string => typeof entry === 'string');
  } catch {
    bypass = [];
  }
  const username = variable('Agent.ProxyUsername') || undefined;
  const password = variable('Agent.ProxyPassword') || undefined;
  return { url, username, password, bypass };
}

/**
 * Pure: the proxy URL with its credentials percent-encoded in the user-info part (a `%`, `@` or `:` in a
 * password would otherwise end it or be decoded), as Go's url.Parse and curl read it back.
 */
export function proxyUrlWithCredentials(settings: AgentProxySettings): string {
  const url = new URL(settings.url);
  const origin = `${url.protocol}//${url.host}`;
  if (settings.username === undefined) return origin;
  const user = encodeURIComponent(settings.username);
  const password = settings.password === undefined ? '' : `:${encodeURIComponent(settings.password)}`;
  return `${url.protocol}//${user}${password}@${url.host}`;
}

const hostLike = /^\.?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/i;
const cidrLike = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

/**
 * Pure: the NO_PROXY entry for one bypass regular expression, when it names a host, a domain or a CIDR
 * (`example\.com`, `^.*\.corp\.local$`, `*\.corp`, `10\.0\.0\.0/8`); undefined for any other pattern
 * (`10\.1\.\d+`), which NO_PROXY cannot express.
 */
export function noProxyEntry(pattern: string): string | undefined {
  let text = pattern.trim().replace(/^\^/, '').replace(/\$$/, '');
  text = text.replace(/^(\(?https\??\)?|http\(?s\)?\??|https?)(:|\\:)(\/|\\\/){2}/i, '');
  let domain = false;
  const wildcard = /^(\.\*|\*)\\?\./.exec(text);
  if (wildcard !== null) {
    domain = true;
    text = text.slice(wildcard[0].length);
  }
  text = text.replace(/\\([.\-:/])/g, '$1');
  if (cidrLike.test(text)) return text;
  if (!hostLike.test(text)) return undefined;
  return domain && !text.startsWith('.') ? `.${text}` : text;
}

/** Pure: host[:port] of every tcp:// address (buildctl's connection to a daemon must stay direct). */
export function daemonHosts(addresses: readonly string[]): string[] {
  const hosts: string[] = [];
  for (const address of addresses) {
    if (!/^tcp:\/\//i.test(address) || !URL.canParse(address)) continue;
    const host = new URL(address).hostname.replace(/^\[(.*)\]$/, '$1');
    if (host !== '' && !hosts.includes(host)) hosts.push(host);
  }
  return hosts;
}

/**
 * Pure: HTTP(S)_PROXY from the agent's proxy and NO_PROXY from its bypass list, merged with the NO_PROXY
 * the task already has and `direct` (hosts that must never be reached through the proxy).
 */
export function proxyEnvironment(
  settings: AgentProxySettings,
  env: ChildEnv,
  direct: readonly string[],
): ProxyEnvironment {
  const proxy = proxyUrlWithCredentials(settings);
  const skipped: string[] = [];
  const noProxy: string[] = [];
  const add = (entry: string): void => {
    const trimmed = entry.trim();
    if (trimmed !== '' && !noProxy.includes(trimmed)) noProxy.push(trimmed);
  };
  for (const existing of [env.NO_PROXY, env.no_proxy]) existing?.split(',').forEach(add);
  for (const pattern of settings.bypass) {
    const entry = noProxyEntry(pattern);
    if (entry === undefined) skipped.push(pattern);
    else add(entry);
  }
  direct.forEach(add);
  const vars: Record<string, string> = {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
  };
  if (noProxy.length > 0) {
    vars.NO_PROXY = noProxy.join(',');
    vars.no_proxy = vars.NO_PROXY;
  }
  return { vars, skipped };
}

/** Pure: the environment without OpenTelemetry's variables (OTEL_*), which make buildkitd open sockets. */
export function withoutOpenTelemetry(env: ChildEnv): Record<string, string | undefined> {
  const kept: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env))
    if (!name.toUpperCase().startsWith('OTEL_')) kept[name] = value;
  return kept;
}

/** The environments of the processes the task starts: buildctl (every run of it) and the job daemon. */
export interface ChildEnvironments {
  /** buildctl: the task's environment and the agent's proxy, daemons' hosts excepted. */
  readonly buildctl: ChildEnv;
  /** A daemon started for the job: the agent's proxy (it pulls and pushes), no OpenTelemetry variables. */
  readonly daemon: ChildEnv;
  /** The proxy variables alone (to pass through sudo, which resets the environment). */
  readonly proxy: Readonly<Record<string, string>>;
}

/**
 * Computes the child environments once per run: masks the proxy password (as given and as encoded in the
 * URL) and warns about bypass entries NO_PROXY cannot express. `addresses` are the daemon addresses the
 * task may talk to.
 */
export function childEnvironments(ctx: RunContext, addresses: readonly string[]): ChildEnvironments {
  const settings = agentProxySettings((name) => ctx.variable(name));
  if (settings === undefined) {
    return { buildctl: ctx.env, daemon: withoutOpenTelemetry(ctx.env), proxy: {} };
  }
  if (settings.password !== undefined) {
    ctx.log.setSecret(settings.password);
    const encoded = encodeURIComponent(settings.password);
    if (encoded !== settings.password) ctx.log.setSecret(encoded);
  }
  const proxy = proxyEnvironment(settings, ctx.env, daemonHosts(addresses));
  if (proxy.skipped.length > 0) ctx.log.warning(ctx.loc('ChildProxyBypassSkipped', proxy.skipped.join(', ')));
  return {
    buildctl: { ...ctx.env, ...proxy.vars },
    daemon: { ...withoutOpenTelemetry(ctx.env), ...proxy.vars },
    proxy: proxy.vars,
  };
}
