// Why this exists: node-llama-cpp's batch dispatcher holds the context lock for as long as decodes keep
// arriving, and erasing a sequence's old state needs that same lock. With other sequences generating,
// a request that reuses a sequence would wait until every running generation finished — the opposite
// of continuous batching. The gate makes running generations pause between two tokens while a reset is
// pending, so the dispatcher drains, the erase runs, and the new request joins the batch at once.

export class StateResetGate {
  private pending = 0;
  private opened?: Promise<void>;
  private open?: () => void;

  /** Run a state reset; running generations hold their next token until all pending resets finish. */
  async reset<T>(action: () => Promise<T>): Promise<T> {
    this.pending++;
    if (!this.opened) this.opened = new Promise<void>((resolve) => (this.open = resolve));
    try {
      return await action();
    } finally {
      this.pending--;
      if (this.pending === 0) {
        const open = this.open;
        this.opened = undefined;
        this.open = undefined;
        open?.();
      }
    }
  }

  /** Undefined when no reset is pending (the common case costs nothing); otherwise a promise to await. */
  whenOpen(): Promise<void> | undefined {
    return this.opened;
  }
}

const gates = new WeakMap<object, StateResetGate>();

/** One gate per llama.cpp context: its sequences share the dispatcher. */
export function stateResetGateFor(context: object): StateResetGate {
  let gate = gates.get(context);
  if (!gate) {
    gate = new StateResetGate();
    gates.set(context, gate);
  }
  return gate;
}
