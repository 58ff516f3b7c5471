// esbuild plugins that keep the task's start-up path short. Found with a CPU profile and a trace of the
// modules evaluated before `buildctl build` (bench/RESULTS.md, "What start-up still spends"): both cut
// module evaluation that a run does not need, without changing what runs when it is needed.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * `@azure/identity`'s index evaluates every credential it has (CLI, PowerShell, browser, device code, ...)
 * when any one is imported lazily. Our identityLibrary.ts names the four it uses; this resolves that import
 * to those four modules alone.
 */
export function identityCredentialsOnly(credentialFiles) {
  return {
    name: 'identity-credentials-only',
    setup(build) {
      build.onResolve({ filter: /^@azure\/identity$/ }, (args) =>
        args.importer.endsWith(join('registry', 'identityLibrary.ts'))
          ? { path: 'identity-credentials', namespace: 'bkb-virtual' }
          : undefined,
      );
      build.onLoad({ filter: /^identity-credentials$/, namespace: 'bkb-virtual' }, () => {
        const esm = join(
          dirname(require.resolve('@azure/identity/package.json')),
          'dist',
          'esm',
          'credentials',
        );
        const lines = Object.entries(credentialFiles).map(
          ([name, file]) => `export { ${name} } from ${JSON.stringify(join(esm, file))};`,
        );
        return { contents: lines.join('\n'), loader: 'js', resolveDir: esm };
      });
    },
  };
}

/**
 * MSAL imports jsonwebtoken at start-up (about 70 modules, with a semver range parse of the Node version)
 * but calls `sign` only for certificate credentials. This hands MSAL a `sign` that loads the real module
 * on its first call.
 */
export function lazyJsonWebToken() {
  return {
    name: 'lazy-jsonwebtoken',
    setup(build) {
      build.onResolve({ filter: /^jsonwebtoken$/ }, (args) =>
        args.importer.includes(`${join('node_modules', '@azure', 'msal-node')}`)
          ? { path: 'jsonwebtoken-lazy', namespace: 'bkb-virtual' }
          : undefined,
      );
      build.onLoad({ filter: /^jsonwebtoken-lazy$/, namespace: 'bkb-virtual' }, () => ({
        contents: "export default { sign: (...args) => require('./index.js').sign(...args) };",
        loader: 'js',
        resolveDir: dirname(require.resolve('jsonwebtoken')),
      }));
    },
  };
}
