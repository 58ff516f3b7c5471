/** One line of buildctl's `--progress=plain` output, as far as the task needs to understand it. */
export type PlainLine =
  | { kind: 'vertex'; vertex: number; text: string }
  | { kind: 'cached'; vertex: number }
  | { kind: 'error'; vertex: number; text: string }
  | { kind: 'other' };

/** Parses `#6 [2/3] RUN make`, `#5 CACHED`, `#6 ERROR: ...`; everything else is 'other'. */
export function parsePlainLine(line: string): PlainLine {
  const match = /^#(\d+) (.*)$/.exec(line);
  if (!match) return { kind: 'other' };
  const vertex = Number(match[1]);
  const text = match[2] ?? '';
  if (text === 'CACHED') return { kind: 'cached', vertex };
  if (text.startsWith('ERROR: ')) return { kind: 'error', vertex, text: text.slice('ERROR: '.length) };
  return { kind: 'vertex', vertex, text };
}

/** A Dockerfile instruction vertex: `[2/3] RUN make`, `[builder 2/5] COPY ...`, `[linux/arm64 3/3] ...`. */
export function isDockerfileStep(name: string): boolean {
  return /^\[(?:[^\]]* )?\d+\/\d+\] /.test(name);
}

/**
 * The vertex of a remote cache export: BuildKit names it after the cache exporter (its `Name()` in
 * cache/remotecache/*). v0.11: `exporting content cache` (registry, local), `exporting cache to s3`,
 * `exporting cache to azure blob store`, `exporting to GitHub cache`; from v0.12: `exporting cache to
 * registry`, `... to client directory`, `... to Amazon S3`, `... to Azure Blob Storage`, `exporting to
 * GitHub Actions Cache`, and `exporting content cache` for exporters without a name of their own.
 */
export function isCacheExportVertex(name: string): boolean {
  return /^exporting (?:cache to \S|content cache$|to GitHub (?:Actions Cache|cache)$)/.test(name);
}

/** Caps the vertex table: a pathological log cannot grow memory without bound. */
const MAX_VERTICES = 100_000;

export interface ProgressStats {
  /** Dockerfile steps seen (`[i/n] ...` vertices). */
  readonly steps: number;
  /** Of those, the ones BuildKit reported CACHED. */
  readonly cached: number;
}

/**
 * Follows the plain progress line by line: the name of each vertex (its first line), the Dockerfile
 * steps and which were cached, and errors on cache exports (which do not fail a build).
 */
export class ProgressTracker {
  private readonly names = new Map<number, string>();
  private readonly cachedSteps = new Set<number>();
  private steps = 0;
  private readonly cacheExportErrors: string[] = [];

  observe(line: string): PlainLine {
    const parsed = parsePlainLine(line);
    if (parsed.kind === 'vertex') {
      if (!this.names.has(parsed.vertex) && this.names.size < MAX_VERTICES) {
        this.names.set(parsed.vertex, parsed.text);
        if (isDockerfileStep(parsed.text)) this.steps++;
      }
    } else if (parsed.kind === 'cached') {
      const name = this.names.get(parsed.vertex);
      if (name !== undefined && isDockerfileStep(name)) this.cachedSteps.add(parsed.vertex);
    } else if (parsed.kind === 'error') {
      const name = this.names.get(parsed.vertex);
      if (name !== undefined && isCacheExportVertex(name) && this.cacheExportErrors.length < 10) {
        this.cacheExportErrors.push(parsed.text);
      }
    }
    return parsed;
  }

  vertexName(vertex: number): string | undefined {
    return this.names.get(vertex);
  }

  stats(): ProgressStats {
    return { steps: this.steps, cached: this.cachedSteps.size };
  }

  /** Errors printed by cache-export vertices (with ignore-error=true the build still succeeds). */
  cacheExportFailures(): readonly string[] {
    return this.cacheExportErrors;
  }
}
