// The support matrix of DESIGN.md "Versions" as data: the Node lines, and the dependency
// combinations known to break. scripts/test-matrix.sh is the evidence behind it.

export interface NodeLine {
  major: number;
  /** Oldest release of the line we run on. */
  minimum: string;
  /** Status on the dates below; `eol` is decided against the clock at run time. */
  lts: string;
  /** End of life, ISO date (the Node.js release schedule). */
  eol: string;
}

export const NODE_LINES: readonly NodeLine[] = [
  { major: 20, minimum: '20.19.0', lts: 'Iron', eol: '2026-04-30' },
  { major: 22, minimum: '22.0.0', lts: 'Jod', eol: '2027-04-30' },
  { major: 24, minimum: '24.0.0', lts: 'Krypton', eol: '2028-04-30' },
  { major: 26, minimum: '26.0.0', lts: '', eol: '2029-04-30' },
];

/** Where `doctor` points people who have to upgrade. */
export const RECOMMENDED_MAJORS = [24, 26] as const;

export interface KnownBadCombo {
  package: string;
  /** The package versions affected: from (inclusive), to (exclusive, undefined = open). */
  from: string;
  to: string | undefined;
  /** The Node versions affected: below this version. */
  nodeBelow: string;
  effect: string;
  fix: string;
}

export const KNOWN_BAD: readonly KnownBadCombo[] = [
  {
    package: 'better-sqlite3',
    from: '13.0.0',
    to: undefined,
    nodeBelow: '22.14.0',
    effect: 'better-sqlite3 13 segfaults on Node older than 22.14',
    fix: 'npm install better-sqlite3@12 (or upgrade Node to 22.14+ and keep 13)',
  },
];

/** Compares dotted versions numerically; '1.10' > '1.9'. Pre-release tags are ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split(/[.+-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.replace(/^v/, '').split(/[.+-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function knownBadFor(pkg: string, version: string, nodeVersion: string): KnownBadCombo | undefined {
  return KNOWN_BAD.find(
    (c) =>
      c.package === pkg &&
      compareVersions(version, c.from) >= 0 &&
      (c.to === undefined || compareVersions(version, c.to) < 0) &&
      compareVersions(nodeVersion, c.nodeBelow) < 0,
  );
}
