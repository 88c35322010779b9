import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { defaultContext, type Context } from '../context.js';
import { isPresenterError } from '../errors.js';
import { registerControl } from './control.js';
import { registerDoctor } from './doctor.js';
import { registerLogs } from './logs.js';
import { registerNginxConfig } from './nginx-config.js';
import { registerProfiles } from './profiles.js';
import { registerServe } from './serve.js';
import { registerSystemdUnit } from './systemd-unit.js';

// Every command's options are declared at start (help and usage need them); what a command does
// is imported when it runs (cli/actions/, the lock probe in control.ts), so that `status` or
// `--version` loads ~35 modules rather than ~800 (test/cli-loads.test.js).
export function buildProgram(ctx: Context): Command {
  const program = new Command('presenter-serve')
    .description('Run the presentation-feedback service in production from one command.')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');
  registerServe(program, ctx);
  registerControl(program, ctx);
  registerDoctor(program, ctx);
  registerLogs(program, ctx);
  registerProfiles(program, ctx);
  registerNginxConfig(program, ctx);
  registerSystemdUnit(program, ctx);
  return program;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The one exit path: commands set process.exitCode; errors are printed here. */
export async function main(argv: string[], ctx?: Context): Promise<void> {
  const context = ctx ?? (await defaultContext());
  const program = buildProgram(context);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error, context);
  }
}

export function reportError(error: unknown, ctx: Context): number {
  if (error instanceof CommanderError) {
    // commander has printed its message already; help and version are exit 0.
    return error.exitCode === 0 ? 0 : 2;
  }
  const cause = isPresenterError(error) ? error : isPresenterError((error as { cause?: unknown })?.cause) ? (error as { cause: never }).cause : undefined;
  if (cause) {
    ctx.stderr.write(`error: ${cause.message}\n`);
    if (cause.fix) ctx.stderr.write(`  fix: ${cause.fix}\n`);
    return cause.exitCode;
  }
  ctx.stderr.write(`presenter-serve: unexpected error\n${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}
