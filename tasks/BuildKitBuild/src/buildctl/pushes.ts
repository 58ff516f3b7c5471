/** What reached the registry, as far as buildctl's log and metadata file show it. */
export interface PushReport {
  /** The push input: false for a validation build, which names the image locally only. */
  readonly requested: boolean;
  /** Refs (of the requested ones) that reached the registry, in the requested order. */
  readonly pushed: readonly string[];
  /** The ref whose push failed, with BuildKit's reason, when one did. */
  readonly failed: { readonly ref: string; readonly reason: string } | undefined;
  /** Requested refs that are not in the registry (the failed one included), in the requested order. */
  readonly notPushed: readonly string[];
  /** The digest of the pushed image, or of the local image when nothing was pushed (then `local`). */
  readonly digest: string | undefined;
  /** True when `digest` names an image that is in no registry. */
  readonly local: boolean;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** `#9 pushing manifest for r.example/team/app:1@sha256:<hex> 0.1s done` (BuildKit util/push). */
const MANIFEST_LINE = /^#\d+ pushing manifest for (\S+)@(sha256:[0-9a-f]{64})(?: [\d.]+s)?(?: done)?$/;
/** `failed to push <name>: <reason>` (BuildKit's image exporter), in a step error or the final error. */
const FAILED_PUSH = /failed to push (\S+): (.*)$/;

/**
 * Follows buildctl's log for pushes. BuildKit's image exporter pushes the names of `--output name=a,b,c`
 * one after another and stops at the first that fails (`failed to push b: …`), so a, and only a, reached
 * the registry. Its progress marks each manifest push `done` even when it failed, so a manifest line alone
 * proves nothing: the failure names the exception. Only requested refs are ever kept (bounded memory,
 * nothing taken from the log that the inputs did not name).
 */
export class PushTracker {
  private readonly wanted: ReadonlySet<string>;
  private readonly attempted = new Map<string, string>();
  private failure: { ref: string; reason: string } | undefined;

  constructor(private readonly refs: readonly string[]) {
    this.wanted = new Set(refs);
  }

  observe(line: string): void {
    const manifest = MANIFEST_LINE.exec(line);
    if (manifest !== null) {
      const [, ref = '', digest = ''] = manifest;
      if (this.wanted.has(ref) && !this.attempted.has(ref)) this.attempted.set(ref, digest);
      return;
    }
    if (this.failure !== undefined || !line.includes('failed to push ')) return;
    const failed = FAILED_PUSH.exec(line);
    const ref = failed?.[1];
    if (ref !== undefined && this.wanted.has(ref)) {
      const reason = failed?.[2] ?? '';
      this.failure = { ref, reason: reason.length > 2000 ? `${reason.slice(0, 2000)}…` : reason };
    }
  }

  /**
   * Pure over what was observed: `succeeded` is buildctl's exit, `metadataDigest` what its metadata file
   * said (written only for a successful build).
   */
  report(push: boolean, succeeded: boolean, metadataDigest: string | undefined): PushReport {
    const digest = metadataDigest !== undefined && DIGEST.test(metadataDigest) ? metadataDigest : undefined;
    if (!push || this.refs.length === 0) {
      return {
        requested: push,
        pushed: [],
        failed: undefined,
        notPushed: [],
        digest,
        local: digest !== undefined,
      };
    }
    if (succeeded) {
      return { requested: true, pushed: this.refs, failed: undefined, notPushed: [], digest, local: false };
    }
    const failed = this.failure;
    const pushed = this.refs.filter((r) => this.attempted.has(r) && r !== failed?.ref);
    const pushedDigest = pushed.length > 0 ? this.attempted.get(pushed[0] ?? '') : undefined;
    return {
      requested: true,
      pushed,
      failed,
      notPushed: this.refs.filter((r) => !pushed.includes(r)),
      digest: pushedDigest,
      local: false,
    };
  }
}
