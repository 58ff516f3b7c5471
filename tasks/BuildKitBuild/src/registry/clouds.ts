/** What the task needs to know about each Azure cloud a service connection can name. */
export interface AzureCloud {
  /** The `environment` data value of an Azure Resource Manager connection. */
  readonly name: string;
  /** Suffix a bare registry name gets: `myacr` → `myacr.azurecr.io`. */
  readonly acrSuffix: string;
  /** Scope of an ACR-audience Entra ID token. */
  readonly acrScope: string;
  /** Scope of an ARM-audience token, when the connection does not give its ARM URL. */
  readonly armScope: string;
  /** The cloud's public Entra ID authority (instance discovery stays on for it). */
  readonly authorityHost: string;
}

const CLOUDS: readonly AzureCloud[] = [
  {
    name: 'AzureCloud',
    acrSuffix: 'azurecr.io',
    acrScope: 'https://containerregistry.azure.net/.default',
    armScope: 'https://management.azure.com/.default',
    authorityHost: 'https://login.microsoftonline.com/',
  },
  {
    name: 'AzureChinaCloud',
    acrSuffix: 'azurecr.cn',
    acrScope: 'https://containerregistry.azure.cn/.default',
    armScope: 'https://management.chinacloudapi.cn/.default',
    authorityHost: 'https://login.chinacloudapi.cn/',
  },
  {
    name: 'AzureUSGovernment',
    acrSuffix: 'azurecr.us',
    acrScope: 'https://containerregistry.azure.us/.default',
    armScope: 'https://management.usgovcloudapi.net/.default',
    authorityHost: 'https://login.microsoftonline.us/',
  },
];

/** Public Entra ID hosts: instance discovery is only meaningful (and only allowed) against these. */
const PUBLIC_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'login.microsoft.com',
  'sts.windows.net',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.microsoftonline.de',
]);

/** The cloud of a connection's `environment` (case-insensitive); empty means AzureCloud. */
export function cloudNamed(environment: string | undefined): AzureCloud | undefined {
  const wanted = (environment ?? '').trim().toLowerCase() || 'azurecloud';
  return CLOUDS.find((c) => c.name.toLowerCase() === wanted);
}

/** The default (public) cloud. */
export function publicCloud(): AzureCloud {
  const cloud = CLOUDS[0];
  if (cloud === undefined) throw new Error('no clouds declared');
  return cloud;
}

/** Whether an authority URL is one of Microsoft's public Entra ID hosts. */
export function isPublicAuthority(authority: string): boolean {
  try {
    return PUBLIC_AUTHORITY_HOSTS.has(new URL(authority).hostname.toLowerCase());
  } catch {
    return false;
  }
}
