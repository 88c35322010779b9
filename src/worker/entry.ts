// A worker process's first module. Its signal handlers are installed before the app's modules
// load (a few hundred ms): a signal that reaches a starting worker (Ctrl-C or Ctrl-\ to the
// process group, a USR2, a TTIN) must not kill or stop it, and USR1 must not open the inspector.
import { ignoreWorkerSignals } from '../supervisor/signals.js';

ignoreWorkerSignals();
await import('./main.js');
