import { spawnSync } from 'node:child_process';
// Skip reasons for node:test (`{ skip: reason }`): false where the test can run, else a sentence
// that names what is missing, so the summary says why a test did not run (never a silent return).
export const notLinux = process.platform === 'linux' ? false : `Linux only (this is ${process.platform}): procfs and sysfs`;
export const notPosix = process.platform === 'win32' ? 'POSIX only: Windows has no signals, FIFOs or process groups' : false;
export const noPrlimit = notLinux || (spawnSync('prlimit', ['--version']).error ? 'prlimit (util-linux) is not installed' : false);
