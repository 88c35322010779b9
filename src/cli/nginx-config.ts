import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { resolveSettings } from '../config/resolve.js';
import type { Context } from '../context.js';
import { ConfigError } from '../errors.js';
import { PPTX_LIMITS } from '../feedback/pptx/limits.js';
import { parseBodyLimit, parseListen, parseServerName, parseUpstream, type Upstream } from '../nginx/options.js';
import { renderConfig } from '../nginx/render.js';
import { withoutTrailingSlashes } from '../fs/trailing-slashes.js';

interface NginxFlags {
  upstream?: Upstream[];
  listen?: string;
  serverName?: string;
  bodyLimit?: number;
  profile?: string;
  full?: boolean;
  prefix?: string;
}

const collect = (value: string, previous: Upstream[] | undefined): Upstream[] => [...(previous ?? []), parseUpstream(value)];

export function registerNginxConfig(program: Command, ctx: Context): void {
  program
    .command('nginx-config')
    .description('Print an nginx config that spreads requests over several hosts (for /etc/nginx/conf.d/, or a whole nginx.conf with --full)')
    .addOption(new Option('--upstream <host:port>', 'a host running `presenter-serve serve`; repeat for each host').argParser(collect))
    .addOption(new Option('--listen <port|address:port>', 'where nginx listens (default 80)').argParser(parseListen))
    .addOption(new Option('--server-name <names>', 'nginx server_name (default _: any name)').argParser(parseServerName))
    .addOption(new Option('--body-limit <size>', "largest request body (default: the hosts' limit, PRESENTER_BODY_LIMIT or 1MiB)").argParser(parseBodyLimit))
    .option('--profile <name|file>', 'profile the hosts run with, for their settings (default: auto, or PRESENTER_PROFILE)')
    .option('--full', 'a complete nginx.conf, runnable with `nginx -c FILE`, instead of a conf.d snippet')
    .option('--prefix <dir>', "with --full: pid, logs and temp files under DIR (to run nginx as a user other than root)")
    .action((flags: NginxFlags) => {
      const upstreams = flags.upstream ?? [];
      if (upstreams.length === 0) {
        throw new ConfigError('NO_UPSTREAM', 'nginx-config needs at least one --upstream HOST:PORT.', { fix: 'Name every host running `presenter-serve serve`, e.g. --upstream 10.0.0.11:5000 --upstream 10.0.0.12:5000.' });
      }
      const seen = new Set<string>();
      for (const u of upstreams) {
        if (seen.has(u.address)) throw new ConfigError('BAD_FLAG', `--upstream ${u.address} is given twice.`, { fix: 'Name each host once (nginx would send it twice the share of requests).' });
        seen.add(u.address);
      }
      if (flags.prefix !== undefined && !flags.full) throw new ConfigError('CONFLICT', '--prefix only applies to --full.', { fix: 'Add --full, or drop --prefix.' });
      const prefix = flags.prefix === undefined ? undefined : checkPrefix(resolve(ctx.cwd, flags.prefix));
      // the body limit the hosts run with: defaults < profile < PRESENTER_BODY_LIMIT, unless given
      const bodyLimit = flags.bodyLimit ?? resolveSettings({ profile: flags.profile }, ctx).bodyLimit;
      ctx.stdout.write(renderConfig({
        upstreams,
        listen: flags.listen ?? '80',
        serverName: flags.serverName ?? '_',
        bodyLimit,
        uploadLimit: PPTX_LIMITS.fileBytes,
        full: Boolean(flags.full),
        prefix,
        command: `presenter-serve nginx-config ${upstreams.map((u) => `--upstream ${u.address}`).join(' ')}`,
      }));
    });
}

// The prefix is written into nginx directives unquoted: only characters nginx reads as a plain path.
function checkPrefix(dir: string): string {
  if (!/^[\w/.+@%,:=-]+$/.test(dir)) {
    throw new ConfigError('BAD_FLAG', `Expected --prefix to be a directory path without spaces, quotes, ';', '{', '}' or '$', got \`${dir}\`.`, { fix: 'Choose a plain path such as /var/lib/presenter-nginx.' });
  }
  return withoutTrailingSlashes(dir) || '/';
}
