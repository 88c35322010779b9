import type { Command } from 'commander';
import type { Context } from '../context.js';

export function registerServe(program: Command, _ctx: Context): void {
  program.command('serve').description('Start the service (being built)');
}
