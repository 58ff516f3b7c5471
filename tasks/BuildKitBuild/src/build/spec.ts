import type { RunContext } from '../context';
import type { InputProblem } from '../inputErrors';
import type { RawInputs } from '../inputs';

export interface ImageSpec {
  /** The repository input as given, e.g. `team/app`. */
  readonly repository: string;
  /** Full image name without tag: `<registry>/<repository>` (or the repository when no registry is known). */
  readonly name: string;
  readonly tags: readonly string[];
  /** `<name>:<tag>` for every tag. */
  readonly refs: readonly string[];
  readonly push: boolean;
}

/** PEM files for mutual TLS to buildkitd (buildctl's --tlscacert, --tlscert, --tlskey, --tlsservername). */
export interface DaemonTls {
  readonly caCert: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly serverName: string | undefined;
}

export interface DaemonSpec {
  /** buildkitAddress lines as given; empty: BUILDKIT_HOST, default socket, or a job-scoped daemon. */
  readonly addresses: readonly string[];
  readonly tls: DaemonTls;
}

/** Everything about the build itself. (Issue 3 owns this module and fills these types in.) */
export interface BuildInputs {
  readonly image: ImageSpec;
  readonly daemon: DaemonSpec;
  readonly extraArgs: readonly string[];
}

/** Validates the build, cache, daemon and advanced inputs. (Issue 3 owns this module.) */
export function parseBuildInputs(
  raw: RawInputs,
  _ctx: RunContext,
  registryHost: string | undefined,
  problems: InputProblem[],
): BuildInputs {
  const repository = raw.repository.trim();
  if (repository === '') problems.push({ input: 'repository', message: _ctx.loc('RepositoryRequired') });
  const name = registryHost ? `${registryHost}/${repository}` : repository;
  const tags = raw.tags
    .split(/[\n,]/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return {
    image: { repository, name, tags, refs: tags.map((t) => `${name}:${t}`), push: raw.push !== 'false' },
    daemon: {
      addresses: raw.buildkitAddress
        .split('\n')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
      tls: { caCert: undefined, cert: undefined, key: undefined, serverName: undefined },
    },
    extraArgs: [],
  };
}
