import type { RunContext } from '../core/context';
import type { InputProblem } from '../core/inputErrors';
import type { RawInputs } from '../core/inputs';
import { acrConnectionLoginServer, isAcrDockerRegistry, isAcrConnectionHost } from './acrConnection';
import { unsupportedAzureConnection } from './azureStack';
import { cloudNamed, publicCloud, type AzureCloud } from './clouds';
import { connectionRegistry, registryAddress } from './dockerRegistry';
import { resolveLoginServer } from './loginServer';
import type { RegistryAddress } from './registryCredential';

/**
 * The service connection, read once: which endpoint, the registry's host (images are named under it) and
 * its docker config key, and for Azure the cloud (token scopes, authority). Nothing downstream reads the
 * endpoint's data again or turns the key back into a host.
 */
export type RegistryConnection =
  | (RegistryAddress & {
      readonly kind: 'azure';
      readonly endpointId: string;
      readonly cloud: AzureCloud;
      /** Set when the identity is an ACR-type Docker Registry connection's; absent: an Azure Resource Manager connection's. */
      readonly via?: 'acrDockerRegistry';
    })
  | (RegistryAddress & { readonly kind: 'dockerRegistry'; readonly endpointId: string });

/** The registry of the run: a service connection, or none (`repository` is a full image name). */
export type RegistrySpec = RegistryConnection | { readonly kind: 'none' };

const NONE: RegistrySpec = { kind: 'none' };

/** The host images are named under; undefined without a connection. */
export function registryHost(spec: RegistrySpec): string | undefined {
  return spec.kind === 'none' ? undefined : spec.host;
}

function parseAzure(raw: RawInputs, ctx: RunContext, problems: InputProblem[]): RegistrySpec {
  const endpointId = raw.azureSubscription.trim();
  const acr = raw.acr.trim();
  if (acr === '') {
    problems.push({ input: 'acr', message: ctx.loc('RegistryAcrRequired') });
    return NONE;
  }
  if (refusedAzureConnection(endpointId, 'azureSubscription', ctx, problems)) return NONE;
  const environment = ctx.endpoints.data(endpointId, 'environment');
  const cloud = cloudNamed(environment);
  const result = resolveLoginServer(acr, cloud);
  switch (result.kind) {
    case 'ok':
      // A full host needs no suffix: a cloud the task does not know gets the public cloud's scopes.
      return {
        kind: 'azure',
        endpointId,
        cloud: cloud ?? publicCloud(),
        host: result.host,
        configKey: result.host,
      };
    case 'unknownCloud':
      problems.push({ input: 'acr', message: ctx.loc('RegistryAcrCloudUnknown', acr, environment ?? '') });
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
  const cloud = cloudNamed(ctx.endpoints.data(endpointId, 'environment'));
  const result = given === '' ? undefined : resolveLoginServer(given, cloud);
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
    kind: 'azure',
    endpointId,
    cloud: cloud ?? publicCloud(),
    host: result.host,
    configKey: result.host,
    via: 'acrDockerRegistry',
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
  return { kind: 'dockerRegistry', endpointId, host: address.host, configKey: address.configKey };
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
