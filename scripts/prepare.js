// `prepare` runs at `npm ci` / `npm install` in a clone and builds dist/ with TypeScript, a dev
// dependency. Under `npm ci --omit=dev` there is no TypeScript, and a failing prepare would fail
// the whole install: say what to do instead and leave dist/ as it is. `npm pack` builds in
// `prepack` (which does fail without TypeScript: a tarball without dist/ would be broken), so
// prepare does not build a second time there. Installs from a tarball never run prepare.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.env.npm_command === 'pack' || process.env.npm_command === 'publish') process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  const built = existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)));
  process.stderr.write(
    built
      ? 'presenter-serve: TypeScript is not installed (dev dependencies omitted); using the dist/ built earlier.\n'
      : 'presenter-serve: TypeScript is not installed (dev dependencies omitted), so dist/ was not built. ' +
          'For a production install from a clone run `npm ci && npm prune --omit=dev`, or install the tarball of `npm pack`.\n',
  );
  process.exit(0);
}
// as `npm run build`: TypeScript, then the request validators (scripts/compile-validators.js)
for (const args of [[tsc, '-p', 'tsconfig.build.json'], ['scripts/compile-validators.js']]) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
