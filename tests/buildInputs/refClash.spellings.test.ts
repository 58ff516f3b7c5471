import * as assert from 'node:assert/strict';
import { canonicalRef, imageRefsClashingWithCache } from '../../tasks/BuildKitBuild/src/buildInputs/refClash';

/**
 * Spellings of one Docker Hub repository that BuildKit pushes to the same place: distribution's reference
 * normalisation reads `index.docker.io` as `docker.io` and adds `library/` to a one-component path under
 * docker.io, and containerd's resolver sends `docker.io` to `registry-1.docker.io`.
 */
describe('image refs a cache export would overwrite, in every spelling of Docker Hub', () => {
  const hubSpellings = [
    'app:1',
    'library/app:1',
    'docker.io/app:1',
    'docker.io/library/app:1',
    'index.docker.io/app:1',
    'index.docker.io/library/app:1',
    'registry-1.docker.io/library/app:1',
  ];

  it('gives each the same canonical reference', () => {
    assert.deepEqual(
      hubSpellings.map(canonicalRef),
      hubSpellings.map(() => 'docker.io/library/app:1'),
    );
    assert.equal(canonicalRef('index.docker.io/team/app'), 'docker.io/team/app:latest');
  });

  it('keeps other registries and repositories apart', () => {
    assert.equal(canonicalRef('r.example/app:1'), 'r.example/app:1');
    assert.equal(canonicalRef('docker.io/team/app:1'), 'docker.io/team/app:1');
    assert.equal(canonicalRef('index.docker.io.example/app:1'), 'index.docker.io.example/app:1');
  });

  for (const image of hubSpellings) {
    for (const cache of hubSpellings) {
      if (image === cache) continue;
      it(`finds that a cache export to ${cache} overwrites the tag ${image}`, () => {
        const clashes = imageRefsClashingWithCache([image], [{ ref: cache, input: 'cacheTo', line: 1 }]);
        assert.deepEqual(clashes, [{ imageRef: image, cache: { ref: cache, input: 'cacheTo', line: 1 } }]);
      });
    }
  }
});
