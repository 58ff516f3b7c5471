// The links the Marketplace and the pipeline editors show, derived from the extension manifest when
// packaging, so that they always name the item the manifest publishes (change the publisher, or build the
// dev variant, and every link follows):
// - task.json's helpUrl and the "More information" link in its helpMarkDown: the Marketplace item
//   https://marketplace.visualstudio.com/items?itemName=<publisher>.<id>;
// - overview.md's relative links: the Marketplace page serves only the packaged files (images/), so a link
//   to anything else of the repository (examples/) becomes a link into the manifest's `repository`.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './versions.mjs';

const MARKETPLACE_ITEM = 'https://marketplace.visualstudio.com/items?itemName=';

/** vss-extension.json, with vss-extension.dev.json's overrides for the dev variant (as tfx applies them). */
export function extensionManifest(dev) {
  const read = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));
  const manifest = read('vss-extension.json');
  return dev ? { ...manifest, ...read('vss-extension.dev.json') } : manifest;
}

/** The Marketplace page of the item the manifest publishes. */
export function marketplaceUrl(manifest) {
  for (const key of ['publisher', 'id']) {
    if (typeof manifest[key] !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(manifest[key]))
      throw new Error(`the extension manifest's ${key} '${manifest[key]}' is not a Marketplace name`);
  }
  return `${MARKETPLACE_ITEM}${manifest.publisher}.${manifest.id}`;
}

/** A task.json with helpUrl and the Marketplace link of helpMarkDown pointing at `url`. */
export function withHelpLinks(task, url) {
  const link = /https:\/\/marketplace\.visualstudio\.com\/items\?itemName=[^\s)]*/g;
  if (typeof task.helpMarkDown !== 'string' || task.helpMarkDown.match(link) === null)
    throw new Error(`task ${task.name}: helpMarkDown has no Marketplace link (${MARKETPLACE_ITEM}...)`);
  return { ...task, helpUrl: url, helpMarkDown: task.helpMarkDown.replace(link, url) };
}

/** The manifest's repository as a browsable https URL, without a trailing `.git` or `/`. */
export function repositoryUrl(manifest) {
  const uri = manifest.repository?.uri ?? manifest.repository?.url;
  if (manifest.repository?.type !== 'git' || typeof uri !== 'string' || !/^https:\/\/[^\s]+$/.test(uri))
    throw new Error('the extension manifest needs "repository": { "type": "git", "uri": "https://..." }');
  return uri.replace(/\/+$/, '').replace(/\.git$/, '');
}

/**
 * Rewrites the relative links and images of a Markdown page for the Marketplace: a target the package
 * serves (`served(path)`) stays relative, any other becomes `<repository>/blob|tree/HEAD/<path>` after
 * `kind(path)` says it is a file or directory of the repository; a target that is neither throws.
 */
export function marketplaceMarkdown(markdown, { repository, served, kind }) {
  return markdown.replace(/(!?\[[^\]]*\]\()([^)\s]+)(\))/g, (whole, open, target, close) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) return whole;
    const [path, fragment = ''] = target.split(/(?=#)/);
    const clean = path.replace(/^\.\//, '').replace(/\/+$/, '');
    if (served(clean)) return whole;
    const found = kind(clean);
    if (found === undefined)
      throw new Error(`overview.md links to '${target}', which is not in the repository`);
    return `${open}${repository}/${found === 'directory' ? 'tree' : 'blob'}/HEAD/${clean}${fragment}${close}`;
  });
}

/** `served` for marketplaceMarkdown: inside a folder the manifest packages as addressable. */
export function servedBy(manifest) {
  const folders = (manifest.files ?? []).filter((f) => f.addressable === true).map((f) => f.path);
  return (path) => folders.some((folder) => path === folder || path.startsWith(`${folder}/`));
}

/** `kind` for marketplaceMarkdown over the files of this checkout. */
export function repositoryKind(path) {
  const full = join(root, path);
  if (path.split('/').includes('..') || !existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? 'directory' : 'file';
}
