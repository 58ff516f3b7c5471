import type { RunContext } from '../core/context';
import type { InputProblem } from '../core/inputErrors';
import type { RawInputs } from '../core/inputs';
import { acrConnectionLoginServer, isAcrDockerRegistry, isAcrConnectionHost } from './acrConnection';
import { unsupportedAzureConnection } from './azureStack';
import { connectionRegistry, registryAddress } from './dockerRegistry';
import { resolveLoginServer } from './loginServer';

/** How the task gets credentials for the registry. */
export type RegistryAuth =
  | {
      readonly kind: 'azure';
      readonly endpointId: string;
      readonly loginServer: string;
      /** Set when the identity is an ACR-type Docker Registry connection's; absent: an Azure Resource Manager connection's. */
      readonly via?: 'acrDockerRegistry';
    }
  | {
      readonly kind: 'dockerRegistry';
      readonly endpointId: string;
      /** Where its credentials go in the docker config (Docker Hub: `https://index.docker.io/v1/`). */
      readonly configKey: string;
    }
  | { readonly kind: 'none' };

export interface RegistrySpec {
  /** Registry host images are named under (`myacr.azurecr.io`, `docker.io`); undefined: `repository` is a full name. */
  readonly host: string | undefined;
  readonly auth: RegistryAuth;
}

const NONE: RegistrySpec = { host: undefined, auth: { kind: 'none' } };

function parseAzure(raw: RawInputs, ctx: RunContext, problems: InputProblem[]): RegistrySpec {
  const endpointId = raw.azureSubscription.trim();
  const acr = raw.acr.trim();
  if (acr === '') {
    problems.push({ input: 'acr', message: ctx.loc('RegistryAcrRequired') });
    return NONE;
  }
  if (refusedAzureConnection(endpointId, 'azureSubscription', ctx, problems)) return NONE;
  const environment = ctx.endpoints.data(endpointId, 'environment');
  const result = resolveLoginServer(acr, environment);
  switch (result.kind) {
    case 'ok':
      return {
        host: result.host,
        auth: { kind: 'azure', endpointId, loginServer: result.host },
      };
    case 'unknownCloud':
      problems.push({ input: 'acr', message: ctx.loc('RegistryAcrCloudUnknown', acr, result.environment) });
      return NONE;
    case 'invalid':
      problems.push({ input: 'acr', message: ctx.loc('RegistryAcrInvalid', acr) });
      return NONE;
  }
}

/** Azure Stack and ADFS connections are refused up front, naming the input (registry/azureStack.ts). */
function refusedAzureConnection(
  endpointId: string,
  input: 'azureSubscription' | 'containerRegistry',
  ctx: RunContext,
  problems: InputProblem[],
): boolean {
  const refused = unsupportedAzureConnection(endpointId, ctx.endpoints);
  if (refused === undefined) return false;
  problems.push({
    input,
    message:
      refused.kind === 'adfs'
        ? ctx.loc('RegistryAdfsUnsupported', refused.detail)
        : refused.kind === 'adfsEnabled'
          ? ctx.loc('RegistryAdfsEnabledUnsupported', refused.detail)
          : ctx.loc('RegistryAzureStackUnsupported', refused.detail),
  });
  return true;
}

/** An ACR-type Docker Registry connection: the identity goes through Entra ID like an Azure Resource Manager one. */
function parseAcrDockerRegistry(endpointId: string, ctx: RunContext, problems: InputProblem[]): RegistrySpec {
  if (refusedAzureConnection(endpointId, 'containerRegistry', ctx, problems)) return NONE;
  const given = acrConnectionLoginServer(endpointId, ctx.endpoints);
  const result =
    given === '' ? undefined : resolveLoginServer(given, ctx.endpoints.data(endpointId, 'environment'));
  if (result?.kind !== 'ok') {
    problems.push({
      input: 'containerRegistry',
      message: ctx.loc('RegistryAcrConnectionNoLoginServer', given),
    });
    return NONE;
  }
  if (!isAcrConnectionHost(result.host)) {
    problems.push({
      input: 'containerRegistry',
      message: ctx.loc('RegistryAcrConnectionNotAcr', result.host),
    });
    return NONE;
  }
  return {
    host: result.host,
    auth: { kind: 'azure', endpointId, loginServer: result.host, via: 'acrDockerRegistry' },
  };
}

function parseDockerRegistry(raw: RawInputs, ctx: RunContext, problems: InputProblem[]): RegistrySpec {
  const endpointId = raw.containerRegistry.trim();
  if (isAcrDockerRegistry(endpointId, ctx.endpoints))
    return parseAcrDockerRegistry(endpointId, ctx, problems);
  const registry = connectionRegistry(endpointId, ctx.endpoints);
  const address = registryAddress(registry);
  if (address === undefined) {
    problems.push({
      input: 'containerRegistry',
      message:
        registry.trim() === ''
          ? ctx.loc('RegistryConnectionNoUrl')
          : ctx.loc('RegistryConnectionBadUrl', registry),
    });
    return NONE;
  }
  return {
    host: address.imageHost,
    auth: { kind: 'dockerRegistry', endpointId, configKey: address.configKey },
  };
}

/**
 * Reads azureSubscription, acr and containerRegistry. An Azure connection needs `acr`; a Docker Registry
 * connection names its own registry; with neither, `repository` is a full image name and buildctl uses
 * the agent's own docker config.
 *
 * What the editor shows decides, as in Microsoft's tasks, which read only the inputs their selector makes
 * visible: task.json shows `acr` only while azureSubscription is set and containerRegistry only while it
 * is empty. The classic editor keeps the value of an input it hides, so a definition switched from one
 * connection to the other still carries the old one: it is ignored, and the log says which one is used.
 */
export function parseRegistry(raw: RawInputs, ctx: RunContext, problems: InputProblem[]): RegistrySpec {
  const azure = raw.azureSubscription.trim() !== '';
  const docker = raw.containerRegistry.trim() !== '';
  if (azure) {
    if (docker) ctx.log.info(ctx.loc('RegistryHiddenContainerRegistryIgnored'));
    return parseAzure(raw, ctx, problems);
  }
  if (docker) {
    if (raw.acr.trim() !== '') ctx.log.info(ctx.loc('RegistryHiddenAcrIgnored'));
    return parseDockerRegistry(raw, ctx, problems);
  }
  if (raw.acr.trim() !== '')
    problems.push({ input: 'acr', message: ctx.loc('RegistryAcrWithoutConnection') });
  return NONE;
}
