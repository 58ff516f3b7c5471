/** The manifest media types of the OCI image spec and Docker's schema 2 that the task reads and writes. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Accept header for a manifest GET/HEAD: every kind the task understands. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

export const isIndexType = (mediaType: string): boolean =>
  mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
export const isManifestType = (mediaType: string): boolean =>
  mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;

/** BuildKit's annotations on an attestation manifest's entry in an index (moby/buildkit util/attestation). */
export const REFERENCE_TYPE = 'vnd.docker.reference.type';
export const REFERENCE_DIGEST = 'vnd.docker.reference.digest';
