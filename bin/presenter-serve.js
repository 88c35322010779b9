#!/usr/bin/env node
// Thin entry: refuse Node versions we cannot run on, then load the built CLI.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`presenter-serve needs Node.js 20.19 or newer (22, 24 or 26 recommended); this is ${process.version}.\n`);
  process.exit(2);
}
const entry = new URL('../dist/cli/main.js', import.meta.url);
let cli;
try {
  cli = await import(entry.href);
} catch (error) {
  // Only our own dist/ missing (a clone not built yet) gets the one line; a missing dependency
  // or a broken build keeps its stack, since it is not the user's mistake.
  const missing = error?.code === 'ERR_MODULE_NOT_FOUND' && /^Cannot find module '([^']+)'/.exec(error.message)?.[1];
  const { fileURLToPath } = await import('node:url');
  if (missing && missing.startsWith(fileURLToPath(new URL('../dist/', import.meta.url)))) {
    process.stderr.write('presenter-serve is not built: run npm run build (or npm ci in a clone)\n');
    process.exit(2);
  }
  throw error;
}
await cli.main(process.argv);
