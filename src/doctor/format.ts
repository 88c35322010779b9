import { Chalk } from 'chalk';
import type { DoctorReport } from './runner.js';

const MARK = { pass: '✓', warn: '!', fail: '✗' } as const;

/** Colour only on a TTY, never with NO_COLOR; FORCE_COLOR forces it (chalk's convention). */
export function colourLevel(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): 0 | 1 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false' ? 0 : 1;
  return isTTY ? 1 : 0;
}

export function formatReport(report: DoctorReport, header: string, colour: 0 | 1): string {
  const c = new Chalk({ level: colour });
  const paint = { pass: c.green, warn: c.yellow, fail: c.red } as const;
  const lines = [c.bold(header)];
  for (const check of report.checks) {
    lines.push(`${paint[check.status](MARK[check.status])} ${c.bold(check.title)}: ${check.detail}`);
    if (check.status !== 'pass' && check.fix) lines.push(`    ${c.cyan('fix:')} ${check.fix}`);
  }
  const { passed, warnings, failed } = report.summary;
  lines.push('', `${passed} passed, ${warnings} warnings, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}
