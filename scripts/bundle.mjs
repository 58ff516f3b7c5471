// Bundles each task into one JavaScript file with esbuild, next to its task.json, 32x32 icon and the
// licence notices of everything bundled: dist/tasks/<Task>/ (BKB_DIST names another folder than dist).
// Only what runs goes there.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root, taskNames as tasks } from './versions.mjs';
import { identityCredentialsOnly, lazyJsonWebToken } from './bundlePlugins.mjs';

/** The package (name, directory) an input path of the bundle belongs to, or undefined for our own code. */
function packageOf(inputPath) {
  const parts = inputPath.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const name = parts[at + 1]?.startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
  return { name, dir: parts.slice(0, at + 1 + name.split('/').length).join('/') };
}

function noticesFor(inputs) {
  const packages = new Map();
  for (const input of inputs) {
    const pkg = packageOf(input);
    if (pkg) packages.set(pkg.dir, pkg.name);
  }
  const sections = [];
  for (const [dir, name] of [...packages].sort((a, b) => a[1].localeCompare(b[1]))) {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const licenceFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE'].find((f) =>
      existsSync(join(root, dir, f)),
    );
    const text = licenceFile
      ? readFileSync(join(root, dir, licenceFile), 'utf8').trim()
      : `License: ${manifest.license}`;
    sections.push(`${name}@${manifest.version} (${manifest.license})\n\n${text}`);
  }
  const header = 'BuildKitBuild includes the following third-party software.\n';
  return `${header}\n${sections.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`;
}

for (const task of tasks) {
  const source = join(root, 'tasks', task);
  const out = join(root, process.env.BKB_DIST ?? 'dist', 'tasks', task);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'src', 'main.ts')],
    outfile: join(out, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    keepNames: false,
    legalComments: 'none',
    metafile: true,
    // Node 20 loads undici (~40 ms) the first time anything reads the global FormData; the Azure SDK's
    // pipeline only checks `typeof FormData` to convert multipart bodies, which the task never sends.
    define: { FormData: 'undefined' },
    logLevel: 'warning',
    absWorkingDir: root,
    plugins: [
      // The four credentials src/registry/identityLibrary.ts exports, by their files in @azure/identity.
      identityCredentialsOnly({
        ClientSecretCredential: 'clientSecretCredential.js',
        ClientCertificateCredential: 'clientCertificateCredential.js',
        ManagedIdentityCredential: 'managedIdentityCredential/index.js',
        AzurePipelinesCredential: 'azurePipelinesCredential.js',
      }),
      lazyJsonWebToken(),
    ],
  });
  const inputs = Object.keys(result.metafile.inputs);
  writeFileSync(join(out, 'ThirdPartyNotices.txt'), noticesFor(inputs));
  copyFileSync(join(source, 'task.json'), join(out, 'task.json'));
  copyFileSync(join(source, 'icon.png'), join(out, 'icon.png'));
  const size = result.metafile.outputs[relative(root, join(out, 'index.js'))]?.bytes ?? 0;
  console.log(`bundled ${task}: ${(size / 1024).toFixed(0)} KiB from ${inputs.length} modules`);
}
