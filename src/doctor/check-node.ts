import { compareVersions, NODE_LINES, RECOMMENDED_MAJORS } from './matrix.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'node';
const TITLE = 'Node.js version';
const UPGRADE = `Install Node ${RECOMMENDED_MAJORS.join(' or ')} (e.g. \`nvm install ${RECOMMENDED_MAJORS[0]}\`, or a package from nodejs.org), then run \`npm rebuild better-sqlite3\` so the native module matches the new Node.`;

// The Node line against the matrix: supported, supported but end of life, or not run on.
export async function checkNode(env: Pick<DoctorEnv, 'nodeVersion' | 'now'>): Promise<CheckResult> {
  const version = env.nodeVersion.replace(/^v/, '');
  const major = Number.parseInt(version, 10);
  const line = NODE_LINES.find((l) => l.major === major);
  const supported = NODE_LINES.map((l) => l.major).join(', ');
  if (!line) {
    const why = Number.isNaN(major) ? 'an unreadable version' : major % 2 === 1 ? 'an odd (short-lived, never LTS) line' : major < NODE_LINES[0]!.major ? 'too old' : 'a line this release was not tested on';
    return { id: ID, title: TITLE, status: 'fail', detail: `Node ${version} is ${why}; supported lines are ${supported}.`, fix: UPGRADE };
  }
  if (compareVersions(version, line.minimum) < 0) {
    return { id: ID, title: TITLE, status: 'fail', detail: `Node ${version} is older than ${line.minimum}, the oldest ${major}.x presenter-serve runs on.`, fix: `Update to the latest ${major}.x, or better: ${UPGRADE}` };
  }
  const eol = Date.parse(`${line.eol}T00:00:00Z`);
  if (env.now() >= eol) {
    return {
      id: ID,
      title: TITLE,
      status: 'warn',
      detail: `Node ${version} works, but Node ${major} is end of life since ${line.eol} (no security fixes).`,
      fix: UPGRADE,
    };
  }
  return { id: ID, title: TITLE, status: 'pass', detail: `Node ${version} (supported line ${major}, end of life ${line.eol}).` };
}
