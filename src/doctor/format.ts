import { Chalk } from 'chalk';
import type { DoctorReport } from './runner.js';

const MARK = { pass: '✓', warn: '!', fail: '✗' } as const;

/** Colour only on a TTY, never with NO_COLOR; FORCE_COLOR forces it (chalk's convention). */
export function formatReport(report: DoctorReport, header: string, colour: boolean): string {
  const c = new Chalk({ level: colour ? 1 : 0 });
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
