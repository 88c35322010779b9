// Summarises a .cpuprofile (V8's format, written by node --cpu-prof): self time per function.
import { readFileSync } from 'node:fs';

export function topFrames(file, n = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const dt = profile.timeDeltas;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const us = dt[i] ?? 0;
    total += us;
    const f = node.callFrame;
    const url = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
    const key = `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  return {
    totalMs: Math.round(total / 1000),
    top: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([frame, us]) => ({ frame, selfMs: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 })),
  };
}

/** Self time grouped by package (node_modules/<pkg>), our dist, node internals and natives. */
export function byPackage(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const f = byId.get(profile.samples[i]).callFrame;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    let g;
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
    if (m) g = m[1];
    else if (f.url.includes('/dist/')) g = 'presenter-serve (dist)';
    else if (f.url.startsWith('node:')) g = 'node internals';
    else g = f.functionName ? `(${f.functionName})` : '(native)';
    groups.set(g, (groups.get(g) ?? 0) + us);
  }
  return [...groups.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([group, us]) => ({ group, pct: Math.round((us / total) * 1000) / 10 }));
}
