import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every place in a text where one of the secret values appears, as `secret@offset`. */
export function findSecrets(text: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    if (secret.length < 6)
      throw new Error(`secret too short to scan for reliably: ${secret.length} characters`);
    let at = text.indexOf(secret);
    while (at >= 0) {
      found.push(`${secret.slice(0, 3)}…@${at}`);
      at = text.indexOf(secret, at + 1);
    }
  }
  return found;
}

/** Files below `dir` (recursively) whose content holds a secret or that look like a docker config. */
export function credentialFilesLeft(dir: string, secrets: readonly string[]): string[] {
  const left: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile()) {
        const content = fs.readFileSync(full, 'latin1');
        const looksLikeDockerConfig = entry.name === 'config.json' && /"auths"\s*:/.test(content);
        if (looksLikeDockerConfig || findSecrets(content, secrets).length > 0) left.push(full);
      }
    }
  };
  walk(dir);
  return left;
}
