// A copy of the built install (bin, dist, profiles, public, package.json; node_modules linked)
// that a test may break while a server runs from it, as an upgrade on disk that went wrong would.
import { cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makeDataDir, ROOT } from './cli.js';

export function installCopy(t) {
  const dir = makeDataDir(t, 'presenter-install-');
  for (const part of ['bin', 'dist', 'profiles', 'public', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { dir, bin: join(dir, 'bin/presenter-serve.js'), workerEntry: join(dir, 'dist/worker/entry.js') };
}

/** What the broken worker entry says before it exits 1. */
export const BROKEN_ENTRY = "process.stderr.write('broken upgrade: this worker cannot boot\\n');\nprocess.exit(1);\n";
