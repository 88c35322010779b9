// The text of presenter-serve.service: what a careful admin would write, each choice commented.
// Inputs are validated by the CLI (src/cli/systemd-unit.ts); this only renders.

export interface UnitOptions {
  version: string;
  node: string;
  bin: string;
  dataDir: string;
  workingDirectory: string;
  user?: string;
  group?: string;
  profile?: string;
  port?: number;
  /** the port the service will bind (flag, profile or default): decides CAP_NET_BIND_SERVICE */
  effectivePort: number;
  gracefulTimeoutFlag?: number;
  gracefulTimeoutSec: number;
  envFile?: string;
  watchdogSec: number;
}

const HOME_DIRS = ['/home', '/root', '/run/user'];
export const underHome = (path: string) => HOME_DIRS.some((dir) => path === dir || path.startsWith(`${dir}/`));

// Unit files: `%` starts a specifier; in command lines `$` expands a variable and spaces split
// arguments, so an argument with anything unusual is double-quoted.
const escapePercent = (s: string) => s.replaceAll('%', '%%');
function execArg(arg: string): string {
  const escaped = escapePercent(arg).replaceAll('$', '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}
const command = (args: string[]) => args.map(execArg).join(' ');

export function renderUnit(o: UnitOptions): string {
  const cli = [o.node, o.bin];
  const serve = [...cli, 'serve', '--data-dir', o.dataDir];
  if (o.profile !== undefined) serve.push('--profile', o.profile);
  if (o.port !== undefined) serve.push('--port', String(o.port));
  if (o.gracefulTimeoutFlag !== undefined) serve.push('--graceful-timeout', String(o.gracefulTimeoutFlag));
  const stateDirectory = o.dataDir.startsWith('/var/lib/') ? o.dataDir.slice('/var/lib/'.length) : undefined;
  const installInHome = [o.node, o.bin, o.workingDirectory, o.envFile, o.profile?.startsWith('/') ? o.profile : undefined].filter((p): p is string => p !== undefined && underHome(p));
  const dataInHome = underHome(o.dataDir);
  const lowPort = o.effectivePort > 0 && o.effectivePort < 1024;
  const lines: string[] = [];
  const add = (...l: string[]) => lines.push(...l);

  add(
    `# presenter-serve.service, written by \`presenter-serve systemd-unit\` (presenter-serve ${o.version}).`,
    '# Install:  presenter-serve systemd-unit [flags] > /etc/systemd/system/presenter-serve.service',
    '#           systemctl daemon-reload && systemctl enable --now presenter-serve',
    `# Operate:  systemctl reload|stop|status presenter-serve; presenter-serve status --data-dir ${o.dataDir}`,
    '',
    '[Unit]',
    'Description=presenter-serve: presentation feedback service',
    'Wants=network-online.target',
    'After=network-online.target',
    '# With PostgreSQL on this host, also start after it:',
    '#After=postgresql.service',
    '',
    '[Service]',
    '# The supervisor says READY=1 once every worker serves, RELOADING=1/READY=1 around a reload,',
    '# STOPPING=1 at stop, STATUS= lines, and pings the watchdog. Node has no unix datagram sockets,',
    '# so it sends them through systemd-notify, a child process: NotifyAccess=all lets systemd accept them.',
    'Type=notify',
    'NotifyAccess=all',
  );
  if (o.user !== undefined) add(`User=${escapePercent(o.user)}`);
  else add('# No --user given: this runs as root. Better: a system user that owns the data dir,', '#   useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin presenter', '#User=presenter');
  if (o.group !== undefined) add(`Group=${escapePercent(o.group)}`);
  add(
    '# Secrets (PRESENTER_DATABASE_URL, PRESENTER_AI_API_KEY, PRESENTER_ADMIN_TOKEN) go in the environment',
    '# file, owned by root with mode 0600, never on ExecStart: command lines are visible to every',
    '# local user (ps, /proc) and in `systemctl status`.',
    o.envFile !== undefined ? `EnvironmentFile=${escapePercent(o.envFile)}` : '#EnvironmentFile=/etc/presenter-serve/env',
    `WorkingDirectory=${escapePercent(o.workingDirectory)}`,
    '# Absolute paths: the node that ran `systemd-unit`, and this install of presenter-serve.',
    '# After moving either (or upgrading node through a version manager), print the unit again.',
    `ExecStart=${command(serve)}`,
    '# `presenter-serve reload` waits until every worker has been replaced and fails when the reload',
    '# fails, so `systemctl reload` reports the truth (`kill -HUP $MAINPID` would return at once).',
    `ExecReload=${command([...cli, 'reload', '--data-dir', o.dataDir])}`,
    '# SIGTERM goes to the supervisor only; it drains its workers over IPC. Anything still running',
    '# at TimeoutStopSec is SIGKILLed. TimeoutStopSec leaves 15 s beyond the graceful timeout.',
    'KillMode=mixed',
    `TimeoutStopSec=${o.gracefulTimeoutSec + 15}`,
  );
  if (o.watchdogSec > 0) add('# The supervisor pings every WatchdogSec/2; a hung supervisor is killed and restarted.', `WatchdogSec=${o.watchdogSec}`);
  add(
    'Restart=on-failure',
    'RestartSec=5',
    '# Exit 2 is a configuration error (bad profile, port taken, data dir locked): a restart cannot fix it.',
    'RestartPreventExitStatus=2',
    '# Each connection and each open log or database file takes a descriptor.',
    'LimitNOFILE=65536',
    '# The database and logs hold presenters\' talks: private to the service user.',
    'UMask=0077',
    '',
    '# Sandbox: the whole file system is read-only except the data dir.',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
  );
  if (stateDirectory !== undefined) add('# systemd creates the data dir at start, owned by User=, closed to others.', `StateDirectory=${escapePercent(stateDirectory)}`, 'StateDirectoryMode=0700');
  else add(`# The data dir must exist before the start and belong to ${o.user ?? 'root'}.`);
  add(`ReadWritePaths=${escapePercent(o.dataDir)}`);
  if (installInHome.length > 0) {
    add(`# ProtectHome=read-only, not yes: ${installInHome.join(', ')} lie(s) under /home, /root or /run/user`, '# and must stay readable for the service to start. Move the install to /opt or /usr/local for ProtectHome=yes.', 'ProtectHome=read-only');
  } else if (dataInHome) {
    add('# ProtectHome=read-only, not yes: the data dir lies under a home directory (ReadWritePaths keeps it writable).', 'ProtectHome=read-only');
  } else {
    add('# Nothing the service needs lies under /home, /root or /run/user: hide them.', 'ProtectHome=yes');
  }
  add(
    '# Also hides the control socket\'s fallback directory (for a data dir path over ~90 bytes): refused by systemd-unit.',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    '# AF_UNIX: the control socket and systemd-notify; AF_NETLINK: network interface lookups.',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    '# No MemoryDenyWriteExecute=: V8\'s JIT compiler needs writable, executable memory.',
  );
  if (lowPort) {
    add(`# Port ${o.effectivePort} is below 1024: the one capability needed to bind it.`, 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'AmbientCapabilities=CAP_NET_BIND_SERVICE');
  } else {
    add('# No capabilities: the port is above 1024 and nothing else needs privilege.', 'CapabilityBoundingSet=');
  }
  add('', '[Install]', 'WantedBy=multi-user.target', '');
  return lines.join('\n');
}
