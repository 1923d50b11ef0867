import type { Worker } from "node:worker_threads";

// The hand-over protocol of a kernel set's helper thread (./kernel-helper.ts): a control word (word 0 of an Int32Array
// over a SharedArrayBuffer) that this thread sets to JOB and the helper claims (JOB -> RUNNING)
// before touching anything, so that this thread may withdraw a job (JOB -> IDLE) the helper never
// woke for instead of waiting on it. The helper reports IDLE when done, FAILED when the job threw.

export const IDLE = 0, JOB = 1, QUIT = 2, FAILED = 3, RUNNING = 4;

/**
 * The helper's loop as source text for an `eval: true` worker, with `word` in scope: sleep until a
 * job, claim it, run `job`, report, wake the poster; on a throw run `onError` (`error` in scope).
 */
export function helperLoopSource(job: string, onError = ""): string {
  return `
for (;;) {
  Atomics.wait(word, 0, ${IDLE});
  const state = Atomics.load(word, 0);
  if (state === ${QUIT}) break;
  if (state !== ${JOB} || Atomics.compareExchange(word, 0, ${JOB}, ${RUNNING}) !== ${JOB}) continue;
  try {
${job}
    Atomics.store(word, 0, ${IDLE});
  } catch (error) {
${onError}
    Atomics.store(word, 0, ${FAILED});
  }
  Atomics.notify(word, 0);
}
`;
}

/**
 * Stops a helper thread: QUIT, then terminate (without waiting for it to exit). A stopped helper no
 * longer holds the kernel memories it was given, so they can be collected.
 */
export function stopHelper(worker: Worker, control: Int32Array): void {
  Atomics.store(control, 0, QUIT);
  Atomics.notify(control, 0);
  void worker.terminate();
}

// A safety net, not the way to stop a helper (dispose is): a kernel object dropped without dispose()
// would otherwise leave its helper asleep for the life of the process, holding the object's memories
// (and the address space a WebAssembly memory reserves). Stops it once its owner is collected.
const helpersOfCollected = new FinalizationRegistry<{ worker: Worker; control: Int32Array }>(({ worker, control }) => stopHelper(worker, control));

/** Stops the helper when `owner` is garbage-collected without having stopped it (see stopHelperOf). */
export function stopHelperWhenCollected(owner: object, worker: Worker, control: Int32Array): void {
  helpersOfCollected.register(owner, { worker, control }, owner);
}

/** Stops `owner`'s helper now (its dispose). */
export function stopHelperOf(owner: object, worker: Worker, control: Int32Array): void {
  helpersOfCollected.unregister(owner);
  stopHelper(worker, control);
}
