// Small process and randomness helpers shared by the supervisor tests.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Whether a process with this pid exists (signal 0 only checks). */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A seeded generator (mulberry32): a failing sequence is replayed from its seed. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Live (not zombie) children of `parent`, from /proc (Linux). */
export function children(parent) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === parent && state !== 'Z') pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

/** The inodes of the process's sockets, each with how many of its descriptors refer to it. */
function socketInodes(pid) {
  const inodes = new Map();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.set(m[1], (inodes.get(m[1]) ?? 0) + 1);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** LISTEN rows of /proc/<pid>/net/tcp{,6}: each socket's port and inode. */
function listenRows(pid) {
  const rows = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue; // 0A: LISTEN
      rows.push({ port: parseInt(cols[1].split(':')[1], 16), inode: cols[9] });
    }
  }
  return rows;
}

/** TCP ports the process listens on: its socket fds matched with LISTEN rows of /proc/<pid>/net/tcp{,6}. */
export function listeningPorts(pid) {
  const inodes = socketInodes(pid);
  const ports = new Set(listenRows(pid).filter((r) => inodes.has(r.inode)).map((r) => r.port));
  return [...ports].sort((a, b) => a - b);
}

/** How many of the process's descriptors are the socket listening on `port` (0 if none). */
export function listenDescriptors(pid, port) {
  const inodes = socketInodes(pid);
  return listenRows(pid)
    .filter((r) => r.port === port)
    .reduce((n, r) => n + (inodes.get(r.inode) ?? 0), 0);
}
