import type { ProxySettings } from '@azure/core-rest-pipeline';
import type { HttpProxy } from '../core/context';

/**
 * The agent's proxy as the Azure SDK takes it. The SDK puts the user name and password into a proxy
 * URL (`http://user:password@host:port`) and the proxy agent percent-decodes them from there, so they
 * go in percent-encoded: a password holding `%`, `@` or `:` then reaches the proxy as it is instead of
 * failing to decode ("URI malformed") or being cut.
 */
export function sdkProxySettings(proxy: HttpProxy | undefined): ProxySettings | undefined {
  if (proxy === undefined) return undefined;
  return {
    host: proxy.host,
    port: proxy.port,
    ...(proxy.username === undefined ? {} : { username: encodeURIComponent(proxy.username) }),
    ...(proxy.password === undefined ? {} : { password: encodeURIComponent(proxy.password) }),
  };
}
