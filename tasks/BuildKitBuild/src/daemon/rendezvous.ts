import { createHash } from 'node:crypto';

/** The highest-random-weight score of `address` for `key`: the first 8 bytes of a SHA-256. */
export function rendezvousScore(key: string, address: string): bigint {
  return createHash('sha256').update(key).update('\n').update(address).digest().readBigUInt64BE(0);
}

/**
 * Rendezvous (highest-random-weight) ordering: each address gets a pseudo-random score for the key and
 * the highest comes first. The same key always gives the same order; adding or removing an address
 * never reorders the others, so a repository keeps landing on the same daemon and its cache.
 * Duplicates are dropped; ties (practically impossible) fall back to the address text.
 */
export function rendezvousOrder(addresses: readonly string[], key: string): string[] {
  return [...new Set(addresses)]
    .map((address) => ({ address, score: rendezvousScore(key, address) }))
    .sort((a, b) => (a.score === b.score ? a.address.localeCompare(b.address) : a.score > b.score ? -1 : 1))
    .map((entry) => entry.address);
}
