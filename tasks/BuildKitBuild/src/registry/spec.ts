import type { RunContext } from '../context';
import type { InputProblem } from '../inputErrors';
import type { RawInputs } from '../inputs';

/** How the task gets credentials for the registry. */
export type RegistryAuth =
  | { readonly kind: 'azure'; readonly endpointId: string; readonly loginServer: string }
  | { readonly kind: 'dockerRegistry'; readonly endpointId: string }
  | { readonly kind: 'none' };

export interface RegistrySpec {
  /** Registry host images are named under (`myacr.azurecr.io`, `docker.io`); undefined: `repository` is a full name. */
  readonly host: string | undefined;
  readonly auth: RegistryAuth;
}

/** Reads azureSubscription, acr and containerRegistry. (Issue 4 owns this module.) */
export function parseRegistry(_raw: RawInputs, _ctx: RunContext, _problems: InputProblem[]): RegistrySpec {
  return { host: undefined, auth: { kind: 'none' } };
}
