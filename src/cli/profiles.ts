import type { Command } from 'commander';
import type { Context } from '../context.js';
import { listBuiltInProfiles } from '../config/profile.js';
import { detectPlatform } from '../config/platform.js';

export function registerProfiles(program: Command, ctx: Context): void {
  program
    .command('profiles')
    .description('List the built-in profiles and their settings')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const auto = detectPlatform(ctx);
      const rows = listBuiltInProfiles().map((p) => ({
        name: p.name,
        workers: p.values.workers ?? 1,
        threads: p.values.threads ?? 4,
        fork: p.values.fork ?? true,
        bind: `${p.values.host ?? '0.0.0.0'}:${p.values.port ?? 5000}`,
        auto: p.name === auto.profile,
        description: p.values.description ?? '',
        file: p.file,
      }));
      if (opts.json) {
        ctx.stdout.write(`${JSON.stringify({ auto: { profile: auto.profile, reason: auto.reason }, profiles: rows }, null, 2)}\n`);
        return;
      }
      const table = [['PROFILE', 'WORKERS', 'THREADS', 'BIND', ''], ...rows.map((r) => [r.name, String(r.fork ? r.workers : `${r.workers} (no fork)`), String(r.threads), r.bind, r.auto ? '← auto here' : ''])];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table) ctx.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      ctx.stdout.write('\n');
      for (const r of rows) ctx.stdout.write(`${r.name}: ${r.description}\n`);
      ctx.stdout.write(`\nauto picks ${auto.profile} here (${auto.reason}). A path to a JSON file is a custom profile.\n`);
    });
}
