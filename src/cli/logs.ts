import type { Command } from 'commander';
import type { Context } from '../context.js';

// Placeholder until the logs issue lands; replaced wholesale by it.
export function registerLogs(program: Command, _ctx: Context): void {
  program.command('logs').description('Read the server log (not built yet)');
}
