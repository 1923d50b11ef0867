// When node-llama-cpp sends the decodes queued on a context to llama.cpp (its `batching.dispatchSchedule`).
//
// Its default, "nextCycle", dispatches from a setImmediate: after the event loop's poll phase. So between two
// decode steps the loop first runs every I/O callback that is ready (HTTP reads and writes of all clients,
// timers' neighbours), on the one JavaScript thread, while the native workers sit idle; only then does the
// next step start. llama-server starts its next step as soon as the last sequence has sampled.
//
// The generations of a context queue their next decodes together: the lockstep (decode-lockstep.ts) releases
// them all in one microtask run, and each reaches node-llama-cpp's queue through promise continuations only.
// A tick queued from that run fires when the run is over (Node drains the whole microtask queue before it
// looks at the tick queue again), that is when every released generation has queued its next token. Dispatching
// from there starts the step at once; I/O callbacks then run while llama.cpp decodes. A decode queued outside
// a lockstep step (a prompt, a lone generation) is dispatched the same way: a tick always fires, so nothing
// waits for a member that never queues.

/** node-llama-cpp's `CustomBatchingDispatchSchedule`: receives the function that sends the queued batch. */
export type DispatchSchedule = (dispatch: () => void) => void;

/** Dispatches when the microtasks that queued this step's decodes have all run, before any I/O callback. */
export const dispatchAfterQueuedDecodes: DispatchSchedule = (dispatch) => process.nextTick(dispatch);
