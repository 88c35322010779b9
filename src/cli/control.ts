import type { Command } from 'commander';
import type { Context } from '../context.js';

export function registerControl(_program: Command, _ctx: Context): void {}
