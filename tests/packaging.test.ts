import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import {
  builtVsix,
  readJson,
  repoRoot,
  taskDefinition,
  vsixEntries,
  type TaskDefinition,
} from './support/repo';

const EXPECTED_FILES = [
  '[Content_Types].xml',
  'LICENSE',
  'extension.vsixmanifest',
  'extension.vsomanifest',
  'images/icon.png',
  'images/summary.png',
  'overview.md',
  'tasks/BuildKitBuild/ThirdPartyNotices.txt',
  'tasks/BuildKitBuild/icon.png',
  'tasks/BuildKitBuild/index.js',
  'tasks/BuildKitBuild/task.json',
];

/** The dev variant, packaged once for the tests that read it. */
let devPackaged = false;
function packageDev(): string {
  if (!devPackaged) {
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'package.mjs'), '--dev'], {
      stdio: 'pipe',
    });
    devPackaged = true;
  }
  return builtVsix('dev');
}

/** The extension identity and properties tfx wrote into the packaged manifest. */
function packagedManifest(entries: Map<string, Buffer>): {
  publisher: string;
  id: string;
  property: (name: string) => string | undefined;
} {
  const xml = entries.get('extension.vsixmanifest')?.toString('utf8') ?? '';
  const identity = /<Identity [^>]*>/.exec(xml)?.[0] ?? '';
  const attribute = (name: string): string => new RegExp(`\\b${name}="([^"]*)"`).exec(identity)?.[1] ?? '';
  return {
    publisher: attribute('Publisher'),
    id: attribute('Id'),
    property: (name) =>
      new RegExp(
        `<Property Id="Microsoft\\.VisualStudio\\.Services\\.${name.replace('.', '\\.')}" Value="([^"]*)"`,
      ).exec(xml)?.[1],
  };
}

/** PNG width and height from the IHDR chunk, which the format puts first. */
function pngSize(png: Buffer | undefined): [number, number] {
  assert.ok(png, 'the picture is packaged');
  assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
  assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

/** The header and the uncompressed pixel rows of a PNG. */
function pngPixels(png: Buffer): { header: Buffer; rows: Buffer } {
  let header: Buffer = Buffer.alloc(0);
  const data: Buffer[] = [];
  for (let at = 8; at + 8 <= png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('ascii');
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') header = body;
    if (type === 'IDAT') data.push(body);
    at += 12 + length;
  }
  return { header, rows: inflateSync(Buffer.concat(data)) };
}

function shippedTask(
  entries: Map<string, Buffer>,
): TaskDefinition & { helpUrl: string; helpMarkDown: string } {
  return JSON.parse(
    entries.get('tasks/BuildKitBuild/task.json')?.toString('utf8') ?? '{}',
  ) as TaskDefinition & {
    helpUrl: string;
    helpMarkDown: string;
  };
}

describe('the .vsix', () => {
  it('holds exactly what runs: manifest, page, licence, icons, the bundle and its notices', async () => {
    const entries = await vsixEntries(builtVsix());
    assert.deepEqual([...entries.keys()].sort(), [...EXPECTED_FILES].sort());
    assert.ok(![...entries.keys()].some((name) => name.includes('node_modules') || name.endsWith('.ts')));
  });

  it('carries the extension identity and version that tfx wrote from the manifest', async () => {
    const entries = await vsixEntries(builtVsix());
    const manifest = entries.get('extension.vsixmanifest')?.toString('utf8') ?? '';
    const { version } = readJson(path.join(repoRoot, 'package.json')) as { version: string };
    assert.match(manifest, new RegExp(`<Identity [^>]*Id="buildkit-build"[^>]*Version="${version}"`));
    assert.match(manifest, /Publisher="buildkitbuild"/);
    const contributions = entries.get('extension.vsomanifest')?.toString('utf8') ?? '';
    assert.match(contributions, /"ms\.vss-distributed-task\.task"/);
  });

  it('ships the task.json of the sources, the bundle and the notices of what it bundles', async () => {
    const entries = await vsixEntries(builtVsix());
    const withoutHelp = (task: object): object => ({ ...task, helpUrl: '', helpMarkDown: '' });
    assert.deepEqual(withoutHelp(shippedTask(entries)), withoutHelp(taskDefinition()));
    const notices = entries.get('tasks/BuildKitBuild/ThirdPartyNotices.txt')?.toString('utf8') ?? '';
    assert.match(notices, /azure-pipelines-task-lib@/);
    const bundle = entries.get('tasks/BuildKitBuild/index.js')?.toString('utf8') ?? '';
    assert.ok(
      !/require\(["']azure-pipelines-task-lib/.test(bundle),
      'task-lib must be bundled, not required',
    );
  });

  it('has a 128x128 extension icon and a 32x32 task icon, drawn from one picture', async () => {
    const entries = await vsixEntries(builtVsix());
    assert.deepEqual(pngSize(entries.get('images/icon.png')), [128, 128]);
    assert.deepEqual(pngSize(entries.get('tasks/BuildKitBuild/icon.png')), [32, 32]);
    // The committed pictures are what make-icon.mjs draws (pixels compared: zlib versions compress differently).
    const drawn = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-icons-'));
    try {
      execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'make-icon.mjs')], {
        stdio: 'pipe',
        env: { ...process.env, BKB_ICON_DIR: drawn },
      });
      for (const file of ['images/icon.png', 'tasks/BuildKitBuild/icon.png']) {
        assert.deepEqual(
          pngPixels(fs.readFileSync(path.join(drawn, file))),
          pngPixels(fs.readFileSync(path.join(repoRoot, file))),
          file,
        );
      }
    } finally {
      fs.rmSync(drawn, { recursive: true, force: true });
    }
  });

  for (const variant of ['public', 'dev'] as const) {
    it(`links the ${variant} task's help to the Marketplace item its packaged manifest publishes`, async function () {
      this.timeout(120_000);
      const entries = await vsixEntries(variant === 'dev' ? packageDev() : builtVsix());
      const { publisher, id } = packagedManifest(entries);
      assert.equal(
        publisher,
        (readJson(path.join(repoRoot, 'vss-extension.json')) as { publisher: string }).publisher,
      );
      const item = `https://marketplace.visualstudio.com/items?itemName=${publisher}.${id}`;
      const task = shippedTask(entries);
      assert.equal(task.helpUrl, item);
      const links = [...task.helpMarkDown.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
      assert.deepEqual(links, [item]);
    });
  }

  it('links the Marketplace page to the repository the manifest names, never to files it cannot serve', async () => {
    const entries = await vsixEntries(builtVsix());
    const manifest = packagedManifest(entries);
    const repository = manifest.property('Links.GitHub') ?? '';
    assert.match(repository, /^https:\/\/github\.com\/[^/]+\/[^/]+$/);
    for (const link of ['Links.Getstarted', 'Links.Learn', 'Links.Support'])
      assert.ok(manifest.property(link)?.startsWith(`${repository}/`), `${link}: ${manifest.property(link)}`);
    const overview = entries.get('overview.md')?.toString('utf8') ?? '';
    const targets = [...overview.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
    const intoRepository = targets.filter((t) => t.startsWith(`${repository}/`));
    assert.ok(
      intoRepository.some((t) => t.endsWith('/examples/kubernetes/README.md')),
      'the Kubernetes examples are linked',
    );
    for (const target of targets) {
      if (target.startsWith(`${repository}/`)) {
        const inRepository = /^\/(?:blob|tree)\/HEAD\/([^#]+)/.exec(target.slice(repository.length))?.[1];
        assert.ok(inRepository !== undefined && fs.existsSync(path.join(repoRoot, inRepository)), target);
      } else if (!/^https:\/\//.test(target)) {
        assert.ok(entries.has(target), `${target} is a file of the package`);
      }
    }
  });

  it('has a dev variant with its own extension id, task id and task name', async function () {
    this.timeout(120_000);
    const entries = await vsixEntries(packageDev());
    const manifest = entries.get('extension.vsixmanifest')?.toString('utf8') ?? '';
    assert.match(manifest, /<Identity [^>]*Id="buildkit-build-dev"/);
    const devTask = JSON.parse(
      entries.get('tasks/BuildKitBuild/task.json')?.toString('utf8') ?? '{}',
    ) as TaskDefinition;
    const task = taskDefinition();
    assert.notEqual(devTask.id, task.id);
    assert.equal(devTask.name, 'BuildKitBuildDev');
    assert.deepEqual(devTask.inputs, task.inputs);
  });
});

interface MarketplaceLinks {
  marketplaceUrl(manifest: object): string;
  withHelpLinks(task: object, url: string): { helpUrl: string; helpMarkDown: string };
  marketplaceMarkdown(
    markdown: string,
    options: {
      repository: string;
      served: (path: string) => boolean;
      kind: (path: string) => 'file' | 'directory' | undefined;
    },
  ): string;
}

describe('the links packaging derives from the manifest', () => {
  let links: MarketplaceLinks;
  before(async () => {
    const file = path.join(repoRoot, 'scripts', 'marketplace.mjs');
    links = (await import(pathToFileURL(file).href)) as MarketplaceLinks;
  });

  it('names the Marketplace item of whatever publisher the manifest has', () => {
    const url = links.marketplaceUrl({ publisher: 'contoso', id: 'buildkit-build' });
    assert.equal(url, 'https://marketplace.visualstudio.com/items?itemName=contoso.buildkit-build');
    const task = links.withHelpLinks(
      {
        helpUrl: 'https://marketplace.visualstudio.com/items?itemName=old.x',
        helpMarkDown: 'Builds. [More](https://marketplace.visualstudio.com/items?itemName=old.x)',
      },
      url,
    );
    assert.deepEqual(task, { helpUrl: url, helpMarkDown: `Builds. [More](${url})` });
    assert.throws(() => links.marketplaceUrl({ publisher: '', id: 'x' }), /manifest's publisher '' /);
    assert.throws(
      () => links.withHelpLinks({ name: 'T', helpMarkDown: 'no link' }, url),
      /task T: helpMarkDown/,
    );
  });

  it('keeps links to packaged pictures, points the rest at the repository, refuses what is in neither', () => {
    const options = {
      repository: 'https://github.com/o/r',
      served: (p: string) => p.startsWith('images/'),
      kind: (p: string) =>
        ({ 'docs/a.md': 'file', examples: 'directory' })[p] as 'file' | 'directory' | undefined,
    };
    assert.equal(
      links.marketplaceMarkdown(
        '![pic](images/s.png) [a](./docs/a.md#part) [ex](examples/) [web](https://x.io/y) [top](#top)',
        options,
      ),
      '![pic](images/s.png) [a](https://github.com/o/r/blob/HEAD/docs/a.md#part) ' +
        '[ex](https://github.com/o/r/tree/HEAD/examples) [web](https://x.io/y) [top](#top)',
    );
    assert.throws(() => links.marketplaceMarkdown('[gone](missing.md)', options), /'missing\.md'/);
  });
});
