import type { RepositoryScope } from './scopes';

/** One entry of a registry token's `access` claim (the Docker token spec, which ACR follows). */
interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * Pure: the `access` claim of a registry access token, or undefined when the token is not a JWT that
 * carries one (such a registry's grants cannot be read, and nothing is concluded). The token is only
 * decoded, never verified and never logged: the registry will check it itself.
 */
export function accessClaim(token: string): AccessEntry[] | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null || !('access' in claims)) return undefined;
  const access = claims.access;
  if (access === null) return [];
  if (!Array.isArray(access)) return undefined;
  return access.flatMap((entry: unknown): AccessEntry[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { type, name, actions } = entry as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions)) return [];
    return [{ type, name, actions: actions.filter((a): a is string => typeof a === 'string') }];
  });
}

/** A repository and the actions the build needs there that the token does not grant. */
export interface MissingGrant {
  readonly repository: string;
  readonly missing: readonly string[];
}

/** Pure: what each requested scope lacks in the granted access (`*` grants every action). */
export function missingGrants(
  requested: readonly RepositoryScope[],
  granted: readonly AccessEntry[],
): MissingGrant[] {
  return requested.flatMap((scope) => {
    const actions = new Set(
      granted.filter((g) => g.type === 'repository' && g.name === scope.repository).flatMap((g) => g.actions),
    );
    const missing = actions.has('*') ? [] : scope.actions.filter((a) => !actions.has(a));
    return missing.length === 0 ? [] : [{ repository: scope.repository, missing }];
  });
}
