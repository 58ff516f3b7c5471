import type { BuildInputs } from '../buildInputs/spec';

/** Whether the build attaches attestations (provenance or SBOM) to the image. */
export function hasAttestations(inputs: Pick<BuildInputs, 'provenance' | 'sbom'>): boolean {
  return inputs.provenance !== 'none' || inputs.sbom;
}

/**
 * Pure: the image exporter attribute that chooses the attestation manifests' form. BuildKit v0.19 added
 * `oci-artifact` (an OCI 1.1 artifact manifest with `artifactType` and `subject`); v0.32 made it the
 * default whenever OCI media types are on, and some registries refuse that form. The task always says which
 * form it wants, so every release behaves alike: `image` (`oci-artifact=false`) unless asked otherwise.
 * Releases before v0.19 keep the unknown attribute as exporter metadata, without effect.
 */
export function attestationFields(
  inputs: Pick<BuildInputs, 'provenance' | 'sbom' | 'attestationManifest'>,
): string[] {
  if (!hasAttestations(inputs)) return [];
  return [`oci-artifact=${inputs.attestationManifest === 'oci-artifact' ? 'true' : 'false'}`];
}

/**
 * BuildKit's text when the registry refused a manifest pushed by digest (the attestation manifests and
 * the per-platform manifests are, the index goes by tag): containerd's `unexpected status from PUT
 * request to https://<host>/v2/<repository>/manifests/sha256:<hex>: <status>`. Authentication (401, 403),
 * a missing repository (404) and throttling (429) are other failures.
 */
const REFUSED_BY_DIGEST =
  /unexpected status from PUT request to \S+\/manifests\/sha256:[0-9a-f]{64}: (4(?:0[0-9]|1[0-9]|2[0-8]))\b/;

/**
 * Pure: which advice a failed build's message gets when the registry refused a manifest while
 * attestations were attached: `artifact` (switch to the image form), `image` (turn attestations off), or
 * undefined when the failure is something else.
 */
export function attestationRefusal(
  failure: string,
  inputs: Pick<BuildInputs, 'provenance' | 'sbom' | 'attestationManifest'>,
): 'artifact' | 'image' | undefined {
  if (!hasAttestations(inputs)) return undefined;
  const match = REFUSED_BY_DIGEST.exec(failure);
  const status = Number(match?.[1] ?? 0);
  if (match === null || status === 401 || status === 403 || status === 404) return undefined;
  return inputs.attestationManifest === 'oci-artifact' ? 'artifact' : 'image';
}
