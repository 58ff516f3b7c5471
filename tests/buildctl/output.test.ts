import * as assert from 'node:assert/strict';
import { PushTracker } from '../../tasks/BuildKitBuild/src/buildctl/pushes';
import {
  code,
  codeBlock,
  renderSummary,
  type SummaryData,
} from '../../tasks/BuildKitBuild/src/buildctl/summary';
import { localizer } from '../support/fakeContext';

/** Row cells as GitHub-flavoured Markdown splits a table row (a backslash escapes the next character). */
function tableCells(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < row.length; i++) {
    const c = row[i] ?? '';
    if (c === '\\') {
      cell += c + (row[i + 1] ?? '');
      i++;
    } else if (c === '|') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells.slice(1, -1);
}

/** The text of a code span made by code(), as CommonMark reads it; undefined when it is not one span. */
function spanContent(span: string): string | undefined {
  const fence = /^`+/.exec(span)?.[0] ?? '';
  if (fence === '' || !span.endsWith(fence)) return undefined;
  const inner = span.slice(fence.length, span.length - fence.length);
  // The span closes at the first backtick run of the fence's length: there must be none inside.
  if ([...inner.matchAll(/`+/g)].some((m) => m[0].length === fence.length)) return undefined;
  return inner.startsWith(' ') && inner.endsWith(' ') && inner.trim() !== '' ? inner.slice(1, -1) : inner;
}

describe('Markdown from outside text', () => {
  const hostile = [
    'a ``` b `` c ` d',
    '`starts and ends`',
    '![pixel](https://127.0.0.1:9/p.png) [link](https://x) <img src=x onerror=alert(1)>',
    'pipe | and escaped \\| and \\\\| end',
    'two\nlines\r\nthree',
    'a fence\n```\ninside\n````',
  ];

  for (const text of hostile) {
    it(`stays one code span in a table cell: ${JSON.stringify(text)}`, () => {
      const span = code(text);
      const cells = tableCells(`| name | ${span} |`);
      assert.equal(cells.length, 2, `one cell: ${span}`);
      const content = spanContent((cells[1] ?? '').trim());
      assert.ok(content !== undefined, `one code span: ${span}`);
      // GFM unescapes \| in cells; what the span then shows is the text (line breaks as spaces).
      assert.equal(
        content.replace(/\\\|/g, '|').replace(/\\\u200b\|/g, '\\|'),
        text.replace(/\r?\n|\r/g, ' '),
      );
    });

    it(`stays in one code block: ${JSON.stringify(text)}`, () => {
      const lines = codeBlock(text);
      const fence = lines[0] ?? '';
      assert.match(fence, /^`{3,}$/);
      assert.equal(lines.at(-1), fence);
      const inner = lines.slice(1, -1);
      const closes = new RegExp(`^ {0,3}\`{${fence.length},}\\s*$`);
      assert.ok(
        inner.every((l) => !closes.test(l)),
        'no line inside can close the fence',
      );
      assert.deepEqual(inner, text.split(/\r?\n|\r/));
    });
  }
});

describe('what reached the registry', () => {
  const refs = ['r.example/team/app:1', 'r.example/team/app:2', 'r.example/team/app:3'];
  const digest = `sha256:${'c'.repeat(64)}`;
  const manifest = (ref: string) => `#9 pushing manifest for ${ref}@${digest} 0.1s done`;

  it('one name fails: the names before it are pushed, the failing one and the rest are not', () => {
    const tracker = new PushTracker(refs);
    for (const line of [
      manifest(refs[0] ?? ''),
      manifest(refs[1] ?? ''),
      `#9 ERROR: failed to push ${refs[1]}: unexpected status from PUT request: 403 Forbidden`,
      `error: failed to solve: failed to push ${refs[1]}: unexpected status from PUT request: 403 Forbidden`,
    ])
      tracker.observe(line);
    assert.deepEqual(tracker.report(true, false, undefined), {
      requested: true,
      pushed: [refs[0]],
      failed: { ref: refs[1], reason: 'unexpected status from PUT request: 403 Forbidden' },
      notPushed: [refs[1], refs[2]],
      digest,
      local: false,
    });
  });

  it('nothing from the log that the inputs did not name, nor a digest of another form', () => {
    const tracker = new PushTracker(refs);
    tracker.observe(`#9 pushing manifest for evil.example/x:1@${digest} done`);
    tracker.observe(`#9 pushing manifest for ${refs[0]}@sha256:short done`);
    assert.deepEqual(tracker.report(true, false, undefined).pushed, []);
    assert.equal(tracker.report(true, true, 'sha256:##vso[x]').digest, undefined);
  });

  it('a failed RUN step pushes nothing; a validation build has a local digest only', () => {
    const tracker = new PushTracker(refs);
    assert.deepEqual(tracker.report(true, false, undefined).notPushed, refs);
    const local = tracker.report(false, true, digest);
    assert.deepEqual([local.pushed, local.local, local.digest], [[], true, digest]);
  });

  it('the summary says so, and pins only what is in the registry', () => {
    const loc = localizer();
    const base: SummaryData = {
      succeeded: false,
      refs,
      push: {
        requested: true,
        pushed: [refs[0] ?? ''],
        failed: { ref: refs[1] ?? '', reason: 'x' },
        notPushed: [refs[1] ?? '', refs[2] ?? ''],
        digest,
        local: false,
      },
      pinned: `r.example/team/app@${digest}`,
      platforms: [],
      daemon: 'tcp://d:1234',
      durationMs: 1000,
      steps: 3,
      cached: 0,
      failure: 'failed to push',
    };
    const partial = renderSummary(base, loc);
    assert.match(partial, /^\| Pushed \| partly: 1 of 3 tags \|$/m);
    assert.match(
      partial,
      /`r\.example\/team\/app:1` pushed<br>`r\.example\/team\/app:2` push failed<br>`r\.example\/team\/app:3` not pushed/,
    );
    assert.match(partial, /Pinned reference/);
    const local = renderSummary(
      {
        ...base,
        succeeded: true,
        push: { requested: false, pushed: [], failed: undefined, notPushed: [], digest, local: true },
        pinned: undefined,
        failure: undefined,
      },
      loc,
    );
    assert.match(local, /^\| Pushed \| no \(push is false\) \|$/m);
    assert.match(local, /^\| Digest \| `sha256:c{64}` \(local build, in no registry\) \|$/m);
    assert.doesNotMatch(local, /Pinned reference|@sha256/);
    const runFailed = renderSummary(
      {
        ...base,
        push: { ...base.push, pushed: [], failed: undefined, notPushed: refs, digest: undefined },
        pinned: undefined,
      },
      loc,
    );
    assert.match(runFailed, /^\| Pushed \| no \|$/m);
    assert.doesNotMatch(runFailed, /\| yes \||Pinned reference/);
  });
});
