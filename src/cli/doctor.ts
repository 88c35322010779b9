import type { Command } from 'commander';
import type { Context } from '../context.js';

// Placeholder until the doctor issue lands; replaced wholesale by it.
export function registerDoctor(program: Command, _ctx: Context): void {
  program.command('doctor').description('Check Node, better-sqlite3, SQLite and this machine (not built yet)');
}
