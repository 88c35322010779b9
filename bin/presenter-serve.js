#!/usr/bin/env node
// Thin entry: refuse Node versions we cannot run on, then load the built CLI.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`presenter-serve needs Node.js 20.19 or newer (22, 24 or 26 recommended); this is ${process.version}.\n`);
  process.exit(2);
}
const { main } = await import('../dist/cli/main.js');
await main(process.argv);
