// The workers' slots as a state machine with no I/O, so that it can be driven by generated event
// sequences in a test. The supervisor feeds it events (a worker became ready, a worker exited, a
// restart timer fired, replace a slot, stop) and carries out the effects it asks for.
//
// A slot holds at most one `current` worker (serving, or starting), at most one `incoming`
// worker (a reload's replacement, not yet ready), and the `retiring` workers it asked to stop.
// Every live worker is in exactly one of these places, so `status`, which lists them all, lists
// exactly the children that are alive. A restart is armed only for a slot with neither a
// current nor an incoming worker, so a crash can never start a second worker for a slot.

export interface SlotEffects<W> {
  /** Start a new worker process for the slot. */
  fork(slot: number): W;
  /** Ask a worker to stop (gracefully; killed after a timeout). */
  stop(worker: W): void;
  /** The slot's serving worker crashed and no other worker covers it: call `restartDue` later. */
  crashed(slot: number, worker: W): void;
  /** A restart armed by `crashed` is no longer wanted. */
  cancelRestart(slot: number): void;
  /** The outcome of `replace(slot)`: the new worker is ready (`ok`), or it was not started. */
  replaced(slot: number, outcome: ReplaceOutcome<W>): void;
}

export type ReplaceOutcome<W> = { ok: true; worker: W } | { ok: false; worker: W | undefined; reason: 'exited' | 'stopping' | 'busy' | 'removed' };

export type Role = 'current' | 'incoming' | 'retiring';

interface SlotState<W> {
  /** false once `shrink` removed the slot: its retiring workers drain, nothing is started in it. */
  open: boolean;
  current: W | undefined;
  currentReady: boolean;
  incoming: W | undefined;
  retiring: W[];
  restartArmed: boolean;
}

export interface TrackedWorker<W> {
  slot: number;
  worker: W;
  role: Role;
  ready: boolean;
}

export class SlotTable<W> {
  private readonly slots: SlotState<W>[];
  private stopping = false;

  constructor(
    count: number,
    private readonly effects: SlotEffects<W>,
  ) {
    this.slots = Array.from({ length: count }, () => SlotTable.emptySlot());
  }

  /** Slot indexes in use, removed slots included (their workers may still be draining). */
  get size(): number {
    return this.slots.length;
  }

  /** The slots that serve: the number of workers the server runs. */
  get openCount(): number {
    return this.slots.filter((slot) => slot.open).length;
  }

  isOpen(index: number): boolean {
    return this.slots[index]?.open ?? false;
  }

  /** One worker more (scale up): a new slot, or a removed one whose workers are gone; its index. */
  grow(): number {
    if (this.stopping) throw new Error('the server is stopping');
    let index = this.slots.findIndex((slot) => !slot.open && slot.retiring.length === 0);
    if (index === -1) {
      index = this.slots.length;
      this.slots.push(SlotTable.emptySlot());
    } else {
      this.slots[index] = SlotTable.emptySlot();
    }
    this.forkCurrent(index);
    return index;
  }

  /**
   * One worker less (scale down): the highest open slot without a ready worker (one that is
   * starting, or restarting after a crash), else the highest open slot, is removed and its
   * workers asked to stop (they drain as in a reload). Never the last open slot: undefined then.
   */
  shrink(): number | undefined {
    if (this.stopping) return undefined;
    const open = this.slots.map((slot, index) => (slot.open ? index : -1)).filter((index) => index !== -1);
    if (open.length <= 1) return undefined;
    const idle = open.filter((i) => !(this.slots[i]!.current !== undefined && this.slots[i]!.currentReady));
    const pool = idle.length > 0 ? idle : open;
    const index = pool[pool.length - 1]!;
    const slot = this.slots[index]!;
    slot.open = false;
    if (slot.restartArmed) {
      slot.restartArmed = false;
      this.effects.cancelRestart(index);
    }
    const pending = slot.incoming;
    for (const worker of [slot.current, slot.incoming]) {
      if (worker === undefined) continue;
      slot.retiring.push(worker);
      this.effects.stop(worker);
    }
    slot.current = undefined;
    slot.currentReady = false;
    slot.incoming = undefined;
    if (pending !== undefined) this.effects.replaced(index, { ok: false, worker: pending, reason: 'removed' });
    return index;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Forks the first worker of every slot. */
  start(): void {
    for (let i = 0; i < this.slots.length; i++) this.forkCurrent(i);
  }

  ready(worker: W): void {
    const found = this.find(worker);
    if (!found) return;
    const slot = this.slots[found.slot]!;
    if (found.role === 'current') {
      slot.currentReady = true;
    } else if (found.role === 'incoming') {
      // The replacement takes over; only now is the old worker asked to stop.
      const old = slot.current;
      slot.current = worker;
      slot.currentReady = true;
      slot.incoming = undefined;
      if (old !== undefined) slot.retiring.push(old);
      if (old !== undefined) this.effects.stop(old);
      this.effects.replaced(found.slot, { ok: true, worker });
    }
  }

  exited(worker: W): void {
    const found = this.find(worker);
    if (!found) return;
    const index = found.slot;
    const slot = this.slots[index]!;
    switch (found.role) {
      case 'retiring':
        slot.retiring.splice(slot.retiring.indexOf(worker), 1);
        return;
      case 'incoming':
        // A replacement that died before it was ready: the current worker (if any) keeps serving.
        slot.incoming = undefined;
        if (slot.current === undefined && !this.stopping) this.arm(index, worker);
        this.effects.replaced(index, { ok: false, worker, reason: 'exited' });
        return;
      case 'current':
        slot.current = undefined;
        slot.currentReady = false;
        // An incoming replacement will cover the slot when it is ready; otherwise restart.
        if (slot.incoming === undefined && !this.stopping) this.arm(index, worker);
        return;
    }
  }

  restartDue(index: number): void {
    const slot = this.slots[index];
    if (!slot?.restartArmed || !slot.open) return;
    slot.restartArmed = false;
    if (this.stopping || slot.current !== undefined || slot.incoming !== undefined) return;
    this.forkCurrent(index);
  }

  /** One step of a rolling reload: start a replacement; the old worker stops once it is ready. */
  replace(index: number): void {
    const slot = this.slots[index];
    if (!slot) throw new RangeError(`no slot ${index}`);
    if (this.stopping) return this.effects.replaced(index, { ok: false, worker: undefined, reason: 'stopping' });
    if (!slot.open) return this.effects.replaced(index, { ok: false, worker: undefined, reason: 'removed' });
    if (slot.incoming !== undefined) return this.effects.replaced(index, { ok: false, worker: undefined, reason: 'busy' });
    // A slot waiting out a restart backoff is filled by the replacement instead.
    if (slot.restartArmed) {
      slot.restartArmed = false;
      this.effects.cancelRestart(index);
    }
    slot.incoming = this.effects.fork(index);
  }

  /** Stops every worker; no worker is forked after this. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    const pending: { index: number; worker: W }[] = [];
    const toStop: W[] = [];
    this.slots.forEach((slot, index) => {
      if (slot.restartArmed) {
        slot.restartArmed = false;
        this.effects.cancelRestart(index);
      }
      for (const worker of [slot.current, slot.incoming]) {
        if (worker === undefined) continue;
        slot.retiring.push(worker);
        toStop.push(worker);
      }
      if (slot.incoming !== undefined) pending.push({ index, worker: slot.incoming });
      slot.current = undefined;
      slot.currentReady = false;
      slot.incoming = undefined;
    });
    for (const worker of toStop) this.effects.stop(worker);
    for (const { index, worker } of pending) this.effects.replaced(index, { ok: false, worker, reason: 'stopping' });
  }

  /** Every live worker, each once, with its slot and role. */
  workers(): TrackedWorker<W>[] {
    const list: TrackedWorker<W>[] = [];
    this.slots.forEach((slot, index) => {
      if (slot.current !== undefined) list.push({ slot: index, worker: slot.current, role: 'current', ready: slot.currentReady });
      if (slot.incoming !== undefined) list.push({ slot: index, worker: slot.incoming, role: 'incoming', ready: false });
      for (const worker of slot.retiring) list.push({ slot: index, worker, role: 'retiring', ready: false });
    });
    return list;
  }

  /** The slot's serving worker, if any. */
  current(index: number): W | undefined {
    return this.slots[index]?.current;
  }

  isRestartArmed(index: number): boolean {
    return this.slots[index]?.restartArmed ?? false;
  }

  /** Every open slot has a ready current worker and nothing else is running. */
  settled(): boolean {
    return this.slots.every((slot) => (slot.open ? slot.current !== undefined && slot.currentReady && slot.incoming === undefined : true) && slot.retiring.length === 0);
  }

  /** Every open slot has a ready current worker (retiring ones may still drain). */
  serving(): boolean {
    return this.slots.every((slot) => !slot.open || (slot.current !== undefined && slot.currentReady));
  }

  private static emptySlot<W>(): SlotState<W> {
    return { open: true, current: undefined, currentReady: false, incoming: undefined, retiring: [], restartArmed: false };
  }

  private forkCurrent(index: number): void {
    const slot = this.slots[index]!;
    slot.current = this.effects.fork(index);
    slot.currentReady = false;
  }

  private arm(index: number, worker: W): void {
    this.slots[index]!.restartArmed = true;
    this.effects.crashed(index, worker);
  }

  private find(worker: W): { slot: number; role: Role } | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i]!;
      if (slot.current === worker) return { slot: i, role: 'current' };
      if (slot.incoming === worker) return { slot: i, role: 'incoming' };
      if (slot.retiring.includes(worker)) return { slot: i, role: 'retiring' };
    }
    return undefined;
  }
}
