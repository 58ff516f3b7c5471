import * as assert from 'node:assert/strict';
import { readBranchFacts } from '../../tasks/BuildKitBuild/src/buildInputs/branchCache';
import { parseCacheInputs } from '../../tasks/BuildKitBuild/src/buildInputs/cacheInputs';
import { isValidTag } from '../../tasks/BuildKitBuild/src/buildInputs/reference';
import { platformCache } from '../../tasks/BuildKitBuild/src/platforms/platformInputs';
import { makeContext } from '../support/fakeContext';

const PLATFORMS = ['linux/amd64', 'linux/arm64/v8'];
const LONGEST_PART = '-linux-arm64-v8'.length;

function parse(cacheRef: string, cache = 'registry') {
  const problems: { input: string; message: string }[] = [];
  const parsed = parseCacheInputs(
    { cache, cacheRef, cacheMode: 'max', cacheFrom: '', cacheTo: '' },
    'myacr.azurecr.io/team/app',
    'myacr.azurecr.io',
    PLATFORMS,
    readBranchFacts(() => undefined),
    makeContext(),
    (input, message) => problems.push({ input, message }),
  );
  return { parsed, problems };
}

const perPlatformTags = (cacheRef: string): string[] => {
  const { parsed } = parse(cacheRef);
  return PLATFORMS.flatMap((p) => {
    const spec = platformCache(parsed.cache, p);
    return spec.kind === 'registry' ? [...spec.imports, spec.export] : [];
  }).map((ref) => ref.slice(ref.lastIndexOf(':') + 1));
};

describe('cache inputs: attacks', () => {
  it('an exact cacheRef of a multi-platform build leaves room for the per-platform part of its tag', () => {
    // A split build gives each platform the tag followed by '-<platform>'; a tag of 120 characters would
    // make 135, which no registry accepts: the cacheRef is refused, naming it and the longest tag allowed.
    const max = 128 - LONGEST_PART;
    const fits = `cache/app:${'t'.repeat(max)}`;
    assert.deepEqual(parse(fits).problems, []);
    for (const tag of perPlatformTags(fits)) assert.ok(isValidTag(tag), `${tag} (${tag.length})`);

    const { problems, parsed } = parse(`cache/app:${'t'.repeat(max + 1)}`);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    const [problem] = problems;
    assert.ok(problem);
    assert.equal(problem.input, 'cacheRef');
    assert.match(problem.message, new RegExp(`${max + 1}.*\\b${max}\\b`));
    assert.equal(parsed.cache.kind, 'none');
  });
});
