import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import JSZip from 'jszip';

/** The repository's root (tests run from out/tests/...). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface TaskInputDefinition {
  name: string;
  type: string;
  label?: string;
  defaultValue?: string;
  groupName?: string;
  helpMarkDown?: string;
  visibleRule?: string;
  aliases?: string[];
  options?: Record<string, string>;
  properties?: Record<string, string>;
}

export interface TaskDefinition {
  id: string;
  name: string;
  friendlyName: string;
  version: { Major: number; Minor: number; Patch: number };
  minimumAgentVersion: string;
  instanceNameFormat: string;
  groups: { name: string }[];
  inputs: TaskInputDefinition[];
  outputVariables: { name: string }[];
  dataSourceBindings?: { target: string; endpointId: string; dataSourceName: string }[];
  execution: Record<string, { target: string }>;
  messages: Record<string, string>;
}

export function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function taskDefinition(): TaskDefinition {
  return readJson(path.join(repoRoot, 'tasks', 'BuildKitBuild', 'task.json')) as TaskDefinition;
}

/** The .vsix that `npm run package` built; fails loudly when there is none. */
export function builtVsix(variant: 'public' | 'dev' = 'public'): string {
  const dist = path.join(repoRoot, process.env.BKB_DIST ?? 'dist');
  const pattern = variant === 'dev' ? /^buildkit-build-dev-.*\.vsix$/ : /^buildkit-build-\d.*\.vsix$/;
  const found = fs.existsSync(dist) ? fs.readdirSync(dist).filter((f) => pattern.test(f)) : [];
  if (found.length !== 1) {
    throw new Error(
      `expected one ${variant} .vsix in dist/, found ${found.length}: run npm run package first`,
    );
  }
  return path.join(dist, found[0] ?? '');
}

export async function vsixEntries(vsix: string): Promise<Map<string, Buffer>> {
  const zip = await JSZip.loadAsync(fs.readFileSync(vsix));
  const entries = new Map<string, Buffer>();
  for (const [name, entry] of Object.entries(zip.files)) {
    if (!entry.dir) entries.set(name, await entry.async('nodebuffer'));
  }
  return entries;
}

const unpacked = new Map<string, Promise<string>>();

/** Unzips the built .vsix once per test process and returns the directory holding it. */
export function unpackedVsix(variant: 'public' | 'dev' = 'public'): Promise<string> {
  const vsix = builtVsix(variant);
  let done = unpacked.get(vsix);
  if (!done) {
    done = (async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bkb-vsix-'));
      for (const [name, data] of await vsixEntries(vsix)) {
        const target = path.join(dir, name);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, data);
      }
      return dir;
    })();
    unpacked.set(vsix, done);
  }
  return done;
}

/** The bundled task entry point inside the unzipped .vsix, as the agent would run it. */
export async function bundledTaskEntry(): Promise<string> {
  return path.join(await unpackedVsix(), 'tasks', 'BuildKitBuild', 'index.js');
}
