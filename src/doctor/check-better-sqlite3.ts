import { knownBadFor } from './matrix.js';
import { parseProbe } from './probe.js';
import type { CheckResult, DoctorEnv, ProbeOutcome } from './types.js';

// The id stays `better-sqlite3` for doctor --json readers; the check now names the driver in use.
const ID = 'better-sqlite3';
const TITLE = 'SQLite driver';
const REBUILD = 'npm rebuild better-sqlite3 (needs python3, make and a C++ compiler when no prebuilt binary fits), or `npm ci` for a clean install.';
// NODE_MODULE_VERSION (ABI) of each supported Node line, to name the Node a binary was built for.
const ABI_TO_NODE: Record<string, string> = { '108': '18', '115': '20', '127': '22', '131': '23', '137': '24', '141': '25', '147': '26' };
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGABRT', 'SIGFPE']);

const nodeFor = (abi: string): string => (ABI_TO_NODE[abi] ? `Node ${ABI_TO_NODE[abi]}` : 'another Node');

// better-sqlite3 loaded in a child: a crash or an ABI error there is reported, never fatal to doctor.
export async function checkBetterSqlite3(env: Pick<DoctorEnv, 'settings' | 'nodeVersion' | 'probeSqlite'>): Promise<CheckResult> {
  const outcome = await env.probeSqlite(env.settings.dataDir);
  return classifyLoad(outcome, env.nodeVersion);
}

export function classifyLoad(outcome: ProbeOutcome, nodeVersion: string): CheckResult {
  const report = parseProbe(outcome.stdout);
  const result = classifyBetterSqlite3(outcome, nodeVersion, report);
  const driver = report.driver;
  if (report.noDriver) {
    return { id: ID, title: TITLE, status: 'fail', detail: report.noDriver.message, fix: report.noDriver.fix ?? result.fix ?? 'Install better-sqlite3, or use Node 22.13 or newer.' };
  }
  if (!driver) return result;
  const using = `${driver.name} (${driver.reason})`;
  if (driver.name === 'better-sqlite3') return result.status === 'pass' ? { ...result, detail: `${result.detail.replace(/\.$/, '')}; in use (${driver.reason}).` } : result;
  const builtIn = `Node ${nodeVersion}'s built-in SQLite ${driver.sqlite ?? '?'}`;
  // node:sqlite by choice, or because the optional better-sqlite3 is absent: nothing to fix.
  if (driver.reason.startsWith('PRESENTER_SQLITE_DRIVER') || report.resolveError) {
    return { id: ID, title: TITLE, status: 'pass', detail: `${using}, ${builtIn}.${report.resolveError ? ' better-sqlite3 is optional; installing it makes the store faster (see the README).' : ''}` };
  }
  // installed but broken: serve works on node:sqlite, but not with the driver the operator installed
  return { id: ID, title: TITLE, status: 'warn', detail: `${using}, ${builtIn}. ${result.detail}`, fix: result.fix ?? REBUILD };
}

function classifyBetterSqlite3(outcome: ProbeOutcome, nodeVersion: string, report: ReturnType<typeof parseProbe>): CheckResult {
  const fail = (detail: string, fix: string): CheckResult => ({ id: ID, title: TITLE, status: 'fail', detail, fix });
  const bad = report.version ? knownBadFor('better-sqlite3', report.version, nodeVersion) : undefined;
  const named = report.version ? `better-sqlite3 ${report.version}` : 'better-sqlite3';

  if (outcome.spawnError) return fail(`Could not start the probe child: ${outcome.spawnError}`, 'Check that Node can start child processes here (antivirus, seccomp or ulimit -u).');
  if (outcome.signal && CRASH_SIGNALS.has(outcome.signal)) {
    if (bad) return fail(`Loading ${named} on Node ${nodeVersion} crashed the process (${outcome.signal}): ${bad.effect}.`, bad.fix);
    return fail(
      `Loading ${named} crashed the process (${outcome.signal}). A native module that crashes on load was built for another Node or platform, or its build is broken; serve would die the same way.`,
      `${REBUILD} If it still crashes, pin the tested version: npm install better-sqlite3@12; or, on Node 22.13 or newer, use the built-in driver: PRESENTER_SQLITE_DRIVER=node:sqlite.`,
    );
  }
  if (outcome.timedOut) return fail(`Loading ${named} did not finish within the probe's time limit.`, `Run \`node -e "new (require('better-sqlite3'))(':memory:')"\` to see where it hangs; ${REBUILD}`);
  if (outcome.signal) return fail(`The probe child was killed by ${outcome.signal} while loading ${named}.`, 'Run doctor again; if it repeats, check what kills processes here (OOM killer, a supervisor).');

  const text = `${report.resolveError?.message ?? ''}\n${report.loadError?.message ?? ''}\n${outcome.stderr}`;
  // the first two mentions, found one by one: one pattern spanning both scanned the rest of the
  // text from every mention (quadratic; test/redos.test.js)
  const [built, needed] = Array.from(text.matchAll(/NODE_MODULE_VERSION (\d+)/g), (m) => m[1] ?? '?');
  if (built !== undefined && needed !== undefined) {
    return fail(
      `${named} was compiled for NODE_MODULE_VERSION ${built} (${nodeFor(built)}), but Node ${nodeVersion} needs NODE_MODULE_VERSION ${needed}: node_modules was installed with a different Node.`,
      `npm rebuild better-sqlite3 (with the Node that runs presenter-serve: ${nodeVersion}).`,
    );
  }
  if (report.resolveError || /Cannot find (module|package) 'better-sqlite3/.test(text)) {
    return fail('better-sqlite3 is not installed (the module cannot be found).', 'npm ci (in the presenter-serve directory), or npm install -g presenter-serve again.');
  }
  if (/Could not locate the bindings file/.test(text)) {
    return fail(`${named} is installed but its native build (better_sqlite3.node) is missing: its install script was skipped or failed.`, REBUILD);
  }
  if (report.loadError || !report.sqlite || outcome.exitCode === undefined) {
    const first = (report.loadError?.message ?? outcome.stderr).trim().split(/\r?\n/)[0] || `exit code ${String(outcome.exitCode)}`;
    return fail(`Loading ${named} failed: ${first}`, REBUILD);
  }
  if (bad) return fail(`${named} loaded, but ${bad.effect}; this is Node ${nodeVersion}.`, bad.fix);
  return { id: ID, title: TITLE, status: 'pass', detail: `${named} with SQLite ${report.sqlite}, loaded in a child process.` };
}
