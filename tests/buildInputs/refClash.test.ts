import * as assert from 'node:assert/strict';
import {
  cacheToRegistryRefs,
  canonicalRef,
  imageRefsClashingWithCache,
} from '../../tasks/BuildKitBuild/src/buildInputs/refClash';

describe('image refs a cache export would overwrite', () => {
  it('compares references in one canonical spelling', () => {
    assert.deepEqual(
      [
        'app',
        'library/app:1',
        'docker.io/library/app:1',
        'R.example/team/app:x',
        'r.example/team/app@sha256:x',
      ].map(canonicalRef),
      [
        'docker.io/library/app:latest',
        'docker.io/library/app:1',
        'docker.io/library/app:1',
        'r.example/team/app:x',
        undefined,
      ],
    );
  });

  it('finds the registry refs of cacheTo lines only', () => {
    assert.deepEqual(
      cacheToRegistryRefs(
        'type=azblob,name=x,ref=r.example/a:1\n type=registry, ref=r.example/a:2 \ntype=registry',
      ),
      [{ ref: 'r.example/a:2', input: 'cacheTo', line: 2 }],
    );
  });

  it('pairs each clashing image ref with the cache input naming it', () => {
    const refs = ['r.example/team/app:7', 'r.example/team/app:buildcache', 'docker.io/library/app:1'];
    assert.deepEqual(
      imageRefsClashingWithCache(refs, [
        { ref: 'r.example/team/app:buildcache', input: 'cacheRef' },
        { ref: 'app:1', input: 'cacheTo', line: 3 },
        { ref: 'r.example/team/app:cache', input: 'cacheTo', line: 4 },
      ]),
      [
        {
          imageRef: 'r.example/team/app:buildcache',
          cache: { ref: 'r.example/team/app:buildcache', input: 'cacheRef' },
        },
        { imageRef: 'docker.io/library/app:1', cache: { ref: 'app:1', input: 'cacheTo', line: 3 } },
      ],
    );
  });
});
