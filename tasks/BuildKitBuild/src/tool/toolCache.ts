import { fetchToFile } from './fetchFile';

/** The agent's tool cache and download machinery, as resolveBuildctl needs them. */
export interface ToolCache {
  /** The cached directory of `tool` at exactly `version` for `arch`, when complete; else undefined. */
  find(tool: string, version: string, arch: string): string | undefined;
  /** One attempt to stream `url` into `file` (which must not exist); see fetchToFile. */
  download(url: string, file: string, signal: AbortSignal): Promise<void>;
  /** Extracts a .tar.gz into `destination` (created when missing). */
  extractTar(file: string, destination: string): Promise<void>;
  /** Copies `sourceDir` into the cache as `tool`/`version`/`arch` and marks it complete. */
  cacheDir(sourceDir: string, tool: string, version: string, arch: string): Promise<string>;
  /** Puts `dir` first on PATH for this process and, through the agent, for the job's later steps. */
  prependPath(dir: string): void;
}

const USER_AGENT = 'BuildKitBuild-task';

/**
 * tool-lib and the HTTP client, loaded on first use only: a run that takes buildctl from PATH never pays
 * for loading them. tool-lib reads Agent.ToolsDirectory and Agent.TempDirectory; downloads honour the
 * agent's proxy and certificate settings, as tool-lib's own downloads do.
 */
export async function loadToolCache(): Promise<ToolCache> {
  const [toolLib, taskLib, { HttpClient }] = await Promise.all([
    import('azure-pipelines-tool-lib'),
    import('azure-pipelines-task-lib'),
    import('typed-rest-client/HttpClient.js'),
  ]);
  const client = new HttpClient(USER_AGENT, [], {
    proxy: taskLib.getHttpProxyConfiguration() ?? undefined,
    cert: taskLib.getHttpCertConfiguration() ?? undefined,
    allowRedirects: true,
    allowRetries: false,
    socketTimeout: 60_000,
  });
  return {
    find: (tool, version, arch) => toolLib.findLocalTool(tool, version, arch) || undefined,
    download: (url, file, signal) =>
      fetchToFile(async (u) => (await client.get(u)).message, url, file, signal),
    extractTar: async (file, destination) => {
      await toolLib.extractTar(file, destination);
    },
    cacheDir: (sourceDir, tool, version, arch) => toolLib.cacheDir(sourceDir, tool, version, arch),
    prependPath: (dir) => {
      toolLib.prependPath(dir);
    },
  };
}
