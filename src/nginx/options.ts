import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** One `server` line of the upstream block: what nginx connects to. */
export interface Upstream {
  host: string;
  port: number;
  /** As nginx writes it: `10.0.0.11:5000`, `[::1]:5000`, `app-2.internal:5000`. */
  address: string;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const UPSTREAM_FIX = 'Give each host as HOST:PORT, the address its `presenter-serve serve` listens on, e.g. --upstream 10.0.0.11:5000 (IPv6: --upstream [fd00::11]:5000).';

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

// host:port, [v6]:port; a hostname is resolved by nginx once, when it loads the config.
export function parseUpstream(value: string): Upstream {
  const bad = (why: string): ConfigError => new ConfigError('BAD_FLAG', `Expected --upstream to be HOST:PORT, got \`${value}\`: ${why}.`, { fix: UPSTREAM_FIX });
  const text = value.trim();
  if (text === '') throw bad('it is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw bad('give the address without a scheme (nginx speaks HTTP to it)');
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    if (isIP(host) !== 6) throw bad(`\`${host}\` is not an IPv6 address`);
    if (v6[2] === undefined) throw bad('the port is missing');
    portText = v6[2];
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) throw bad('the port is missing');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('an IPv6 address goes in brackets, [fd00::11]:5000');
    if (host === '') throw bad('the host is missing');
    if (isIP(host) === 0 && !HOSTNAME.test(host)) throw bad(`\`${host}\` is neither an IP address nor a host name`);
  }
  if (portText === '') throw bad('the port is missing');
  const p = port(portText);
  if (p === undefined) throw bad(`the port \`${portText}\` is not a number from 1 to 65535`);
  const address = v6 ? `[${host}]:${p}` : `${host}:${p}`;
  return { host, port: p, address };
}

/** `--listen 80`, `--listen 127.0.0.1:8080`, `--listen [::]:80`: nginx's own listen syntax. */
export function parseListen(value: string): string {
  const text = value.trim();
  const fix = 'Give a port (80) or ADDRESS:PORT (127.0.0.1:8080, [::]:80).';
  if (port(text) !== undefined) return String(port(text));
  try {
    const u = parseUpstream(text);
    if (isIP(u.host) === 0) throw new Error('not an address');
    return u.address;
  } catch {
    throw new ConfigError('BAD_FLAG', `Expected --listen to be a port from 1 to 65535 or ADDRESS:PORT, got \`${value}\`.`, { fix });
  }
}

const SERVER_NAME = /^[a-z0-9*_~^.-][a-z0-9*_.\-\\^$()[\]{}|?+]*$/i;

export function parseServerName(value: string): string {
  const names = value.split(/[\s,]+/).filter(Boolean);
  if (names.length === 0 || names.some((n) => !SERVER_NAME.test(n) || n.includes(';'))) {
    throw new ConfigError('BAD_FLAG', `Expected --server-name to be host names separated by spaces, got \`${value}\`.`, { fix: 'e.g. --server-name feedback.example.org (or _ for any name).' });
  }
  return names.join(' ');
}

const SIZE = /^(\d{1,10})\s*(?:(k|m|g)i?b?)?$/i;
const UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `--body-limit 1048576`, `1MiB`, `512k`: the same range as PRESENTER_BODY_LIMIT. */
export function parseBodyLimit(value: string): number {
  const m = SIZE.exec(value.trim());
  const n = m ? Number(m[1]) * (m[2] === undefined ? 1 : UNIT[m[2].toLowerCase()]!) : Number.NaN;
  if (!(n >= 1024 && n <= 1024 ** 3)) {
    throw new ConfigError('BAD_FLAG', `Expected --body-limit to be a size from 1KiB to 1GiB such as 1MiB or 1048576, got \`${value}\`.`, {
      fix: 'Give the PRESENTER_BODY_LIMIT the hosts run with, or leave --body-limit out to use it from this environment.',
    });
  }
  return n;
}
