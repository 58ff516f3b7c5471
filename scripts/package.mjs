// Packages the bundled task into an installable .vsix with tfx-cli, offline. Stages only what runs:
// the manifest, the Marketplace page, the licence, the icon, and dist/tasks/<Task>/ from bundle.mjs.
// --dev builds the side-by-side dev variant: extension id/name from vss-extension.dev.json and a task
// with its own id and name, so a dev copy and the public one can live in one organization.
// BKB_DIST names another output folder than dist (parallel work trees of one checkout).
// The links the Marketplace and the editors show are derived from the manifest (scripts/marketplace.mjs).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  extensionManifest,
  marketplaceMarkdown,
  marketplaceUrl,
  repositoryKind,
  repositoryUrl,
  servedBy,
  withHelpLinks,
} from './marketplace.mjs';
import { checkVersions, root, taskNames } from './versions.mjs';

const dev = process.argv.includes('--dev');
const version = checkVersions();
const dist = join(root, process.env.BKB_DIST ?? 'dist');
const stage = join(dist, dev ? 'stage-dev' : 'stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'images'), { recursive: true });
for (const file of ['vss-extension.json', 'LICENSE']) cpSync(join(root, file), join(stage, file));
cpSync(join(root, 'images'), join(stage, 'images'), { recursive: true });
const manifest = extensionManifest(dev);
const helpUrl = marketplaceUrl(manifest);
const overview = marketplaceMarkdown(readFileSync(join(root, 'overview.md'), 'utf8'), {
  repository: repositoryUrl(manifest),
  served: servedBy(manifest),
  kind: repositoryKind,
});
writeFileSync(join(stage, 'overview.md'), overview);

/** The dev variant of a task: its own id, name and label, so both can be installed side by side. */
const DEV_TASK_IDS = { BuildKitBuild: 'abd78a3b-bc0f-448a-af57-37a763ac6123' };
for (const task of taskNames) {
  const target = join(stage, 'tasks', task);
  cpSync(join(dist, 'tasks', task), target, { recursive: true });
  const file = join(target, 'task.json');
  const json = withHelpLinks(JSON.parse(readFileSync(file, 'utf8')), helpUrl);
  if (dev) {
    json.id = DEV_TASK_IDS[task];
    json.name = `${task}Dev`;
    json.friendlyName = `${json.friendlyName} (dev)`;
  }
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}

const output = join(dist, `buildkit-build${dev ? '-dev' : ''}-${version}.vsix`);
rmSync(output, { force: true });
const tfx = join(root, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
const args = [tfx, 'extension', 'create', '--root', stage, '--manifest-globs', 'vss-extension.json'];
if (dev) args.push('--overrides-file', join(root, 'vss-extension.dev.json'));
args.push('--output-path', output, '--no-prompt', '--no-color');
execFileSync(process.execPath, args, {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, TFX_TRACE: '' },
});
console.log(`packaged ${output}`);
