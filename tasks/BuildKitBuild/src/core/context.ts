import type { Localize } from './localize';

/** Reads one service connection the way the agent hands it over (ENDPOINT_* variables). */
export interface EndpointReader {
  url(id: string): string | undefined;
  scheme(id: string): string | undefined;
  authParameter(id: string, key: string): string | undefined;
  data(id: string, key: string): string | undefined;
}

/**
 * Where the task writes what users read. Backed by task-lib in the task (taskContext.ts, which masks the
 * registered secrets and makes agent commands in the text inert), by a recorder in tests.
 */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  /** Opens a collapsible `##[group]`; the returned function closes it. */
  group(title: string): () => void;
  /** Masks a value in every later line of the log (`##vso[task.setsecret]`); several lines: each of them. */
  setSecret(value: string): void;
  /** Every value registered with setSecret so far (for code that must never cut one in two). */
  registeredSecrets(): readonly string[];
}

/** What the task hands back to the pipeline. */
export interface Publisher {
  /** An output variable (`##vso[task.setvariable isOutput=true]`). */
  setOutput(name: string, value: string): void;
  /**
   * Attaches a Markdown file to the run's summary page as a section titled `title`
   * (`##vso[task.addattachment type=Distributedtask.Core.Summary;name=<title>]`).
   */
  uploadSummary(markdownPath: string, title: string): void;
  /** A `##vso[task.logissue type=error]` pointing at a file and line where known. */
  logIssue(message: string, location?: { file: string; line?: number }): void;
}

/** A web proxy: `host` with its scheme (`http://proxy.corp`), as the Azure SDK takes it. */
export interface HttpProxy {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
}

/** Everything the task knows about its run besides its inputs. Passed in, never global. */
export interface RunContext {
  readonly loc: Localize;
  readonly log: Log;
  readonly publish: Publisher;
  /** A pipeline variable by name, e.g. `Agent.TempDirectory`, `Build.SourceVersion`. */
  variable(name: string): string | undefined;
  /** The task process's environment (for bare build args, BUILDKIT_HOST, DOCKER_CONFIG, HOME). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly endpoints: EndpointReader;
  /** The agent's web proxy for a URL (Agent.ProxyUrl, its credentials and bypass list), if one applies. */
  httpProxy(requestUrl: string): HttpProxy | undefined;
  readonly platform: NodeJS.Platform;
  /** `os.arch()`: x64, arm64, arm, s390x, ppc64, riscv64, ... */
  readonly arch: string;
}
