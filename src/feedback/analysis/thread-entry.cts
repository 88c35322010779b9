// The module piscina loads in each analysis thread. CommonJS on purpose: piscina loads a task
// module with require() first, and require() of an ES module (Node 20.19+, 22.12+) aborted the
// whole process when a thread was terminated while loading it (an abort of a task: Node's
// "Assertion failed: facade->InstantiateModule" in CreateRequiredModuleFacade, seen in CI on
// Node 20.20). This file loads as plain CommonJS; the analyser comes in through import(), the
// ES module loader, in the thread's first task.
import type { AnalysisTask } from './thread.js';
import type { FeedbackResult } from '../types.js';

async function analyseInThread(task: AnalysisTask): Promise<FeedbackResult> {
  const { default: analyseTask } = await import('./thread.js');
  return analyseTask(task);
}

export = analyseInThread;
