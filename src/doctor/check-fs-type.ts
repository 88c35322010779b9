import { dirname } from 'node:path';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'fs-type';
const TITLE = 'Data dir file system';

// File systems where SQLite's WAL shared memory (the -shm file, mmap + locks) is unreliable.
const RISKY: Record<string, string> = {
  nfs: 'NFS',
  nfs4: 'NFS',
  cifs: 'SMB/CIFS',
  smb3: 'SMB/CIFS',
  smbfs: 'SMB/CIFS',
  '9p': '9p (WSL2 drvfs such as /mnt/c, or a VM host share)',
  drvfs: 'WSL drvfs (/mnt/c)',
  virtiofs: 'virtiofs (a VM host share)',
  'fuse.sshfs': 'sshfs',
};

// The kernel's own views (a data dir under /proc or /sys cannot even be created).
const VIRTUAL = new Set(['proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'debugfs', 'securityfs', 'tracefs', 'configfs', 'bpf', 'mqueue', 'pstore']);

// statfs f_type magic numbers (linux/magic.h), used when /proc/self/mountinfo cannot be read.
const MAGIC: Record<number, string> = {
  0x6969: 'nfs',
  0x517b: 'smbfs',
  0xff534d42: 'cifs',
  0xfe534d42: 'smb3',
  0x01021997: '9p',
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlay',
  0x2fc12fc1: 'zfs',
  0x65735546: 'fuse',
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
};

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));

/** The mount that holds `path`: the longest mount point that prefixes it, from /proc/self/mountinfo text. */
export function mountFor(mountinfo: string, path: string): { mountPoint: string; fsType: string; source: string } | undefined {
  let best: { mountPoint: string; fsType: string; source: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = unescapeMount(left.split(' ')[4] ?? '');
    const [fsType = '', source = ''] = right.split(' ');
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    // Later lines win on equal length: a mount stacked on the same point hides the earlier one.
    if (inside && (!best || mountPoint.length >= best.mountPoint.length)) best = { mountPoint, fsType, source: unescapeMount(source) };
  }
  return best;
}

// On Windows a data dir on a network share is a UNC path (\\server\share\…, or \\?\UNC\server\share\…);
// \\?\C:\… and \\.\… are local device paths. A mapped drive letter cannot be told without a
// native call (GetDriveType), so it is named in the advice only.
export function windowsShare(path: string): string | undefined {
  const p = path.replaceAll('/', '\\');
  let rest: string;
  if (p.toUpperCase().startsWith('\\\\?\\UNC\\')) rest = p.slice(8);
  else if (p.startsWith('\\\\') && !p.startsWith('\\\\?\\') && !p.startsWith('\\\\.\\')) rest = p.slice(2);
  else return undefined;
  const [server, share] = rest.split('\\');
  return server && share ? `\\\\${server}\\${share}` : undefined;
}

export async function checkFsType(env: Pick<DoctorEnv, 'settings' | 'platform' | 'fs' | 'readSystemFile'>): Promise<CheckResult> {
  const dir = env.settings.dataDir;
  const share = env.platform === 'win32' ? windowsShare(dir) : undefined;
  if (share) {
    return notLocal(`${dir} is on the network share ${share}`, env.settings.databaseUrl !== undefined, 'C:\\ProgramData\\presenter-serve');
  }
  if (env.platform !== 'linux') {
    return { id: ID, title: TITLE, status: 'pass', detail: `Not inspected on ${env.platform}; keep ${dir} on a local disk (not a network share${env.platform === 'win32' ? ' or a mapped network drive' : ''}).` };
  }
  const real = await env.fs.realpath(dir);
  const mountinfo = env.readSystemFile('/proc/self/mountinfo');
  let fsType: string | undefined;
  let where = '';
  const mount = mountinfo ? mountFor(mountinfo, real) : undefined;
  if (mount) {
    fsType = mount.fsType;
    where = ` (mounted at ${mount.mountPoint} from ${mount.source})`;
  } else {
    // No mountinfo: the statfs magic number of the nearest existing directory.
    let probe = real;
    for (let i = 0; i < 64 && fsType === undefined; i++) {
      try {
        const { type } = await env.fs.statfs(probe);
        fsType = MAGIC[type] ?? `0x${type.toString(16)}`;
      } catch {
        if (dirname(probe) === probe) break;
        probe = dirname(probe);
      }
    }
  }
  if (fsType === undefined) {
    return { id: ID, title: TITLE, status: 'warn', detail: `Could not tell the file system of ${dir}.`, fix: 'Make sure the data dir is on a local disk (`df -T <dir>` shows the type).' };
  }
  if (VIRTUAL.has(fsType)) {
    return { id: ID, title: TITLE, status: 'fail', detail: `${dir} is on ${fsType}${where}, a virtual file system of the kernel: it holds no files of ours.`, fix: 'Put PRESENTER_DATA_DIR (or --data-dir) on a local disk, e.g. ./data or /var/lib/presenter-serve.' };
  }
  const risky = RISKY[fsType];
  if (risky) {
    return notLocal(`${dir} is on ${fsType}${where}, a ${risky} file system`, env.settings.databaseUrl !== undefined, 'under /var/lib/presenter-serve or, in WSL, under your Linux home (~/presenter-data), not /mnt/c');
  }
  return { id: ID, title: TITLE, status: 'pass', detail: `${dir} is on ${fsType}${where}.` };
}

/** The warning for a data dir on a network or remote file system: what breaks there depends on the store. */
function notLocal(where: string, postgres: boolean, example: string): CheckResult {
  return {
    id: ID,
    title: TITLE,
    status: 'warn',
    detail: postgres
      ? `${where}: the data dir's lock (presenter.lock) needs byte-range locks on a local disk, so two servers may both believe they own it there.`
      : `${where}: SQLite WAL needs shared memory and byte-range locks on a local disk, so writes can fail or the database can be corrupted there.`,
    fix: `Put PRESENTER_DATA_DIR (or --data-dir) on a local disk, e.g. ${example}.`,
  };
}
