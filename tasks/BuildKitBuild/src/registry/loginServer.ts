import type { AzureCloud } from './clouds';

/** How the `acr` input turned into a login server, or why it could not. */
export type LoginServerResult =
  | { readonly kind: 'ok'; readonly host: string }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'unknownCloud' };

/** An ACR resource name: 5 to 50 letters and digits. */
const ACR_NAME = /^[a-z0-9]{5,50}$/;
/** A DNS name (labels of letters, digits and inner hyphens) or an IPv4 address, with an optional port. */
const HOST_AND_PORT =
  /^(?=[^:]{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::(\d{1,5}))?$/;

/**
 * The registry host for `acr`: a bare name gets the suffix of the connection's cloud (undefined: one the
 * task does not know); a host (with a dot) or host:port is taken as given, lowercased. Anything else (a
 * URL, a path, spaces) is invalid.
 */
export function resolveLoginServer(acr: string, cloud: AzureCloud | undefined): LoginServerResult {
  const value = acr.trim().toLowerCase();
  if (ACR_NAME.test(value)) {
    if (cloud === undefined) return { kind: 'unknownCloud' };
    return { kind: 'ok', host: `${value}.${cloud.acrSuffix}` };
  }
  const match = HOST_AND_PORT.exec(value);
  if (match === null || !(value.includes('.') || value.includes(':'))) return { kind: 'invalid' };
  const port = match[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return { kind: 'invalid' };
  return { kind: 'ok', host: value };
}
