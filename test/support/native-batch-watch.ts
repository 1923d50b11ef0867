// Watches a node-llama-cpp context's native batch calls through its private `_ctx` field (diagnostics
// only: the test of the provider's lockstep decoding and bench/batch-scaling.ts). The native object's
// methods are read-only, so a proxy takes its place.

export interface NativeBatchHooks {
  /** A batch of this capacity is started. */
  onInitBatch?(size: number): void;
  /** A batch is about to be decoded: its sequence ids in queue order, and whether every item is one token. */
  onDecode?(sequenceIds: number[], singleTokens: boolean): void;
  /** How long a decode took (around the native promise); without it decodes are not wrapped. */
  onDecodeTime?(ms: number): void;
  /** How long a sampling call took; without it sampling is not wrapped. */
  onSampleTime?(ms: number): void;
}

export function watchNativeBatches(context: object, hooks: NativeBatchHooks): void {
  const holder = context as { _ctx: object };
  const native = holder._ctx as Record<string, unknown>;
  let sequenceIds: number[] = [];
  let singleTokens = true;
  const timedAsync = (method: (...args: unknown[]) => Promise<unknown>, add: (ms: number) => void) => (...args: unknown[]) => {
    const started = performance.now();
    return method(...args).finally(() => add(performance.now() - started));
  };
  holder._ctx = new Proxy(native, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== "function") return value;
      const bound = value.bind(target);
      if (key === "initBatch") {
        return (size: number) => {
          hooks.onInitBatch?.(size);
          sequenceIds = [];
          singleTokens = true;
          return bound(size);
        };
      }
      if (key === "addToBatch") {
        return (sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logits: Uint32Array) => {
          sequenceIds.push(sequenceId);
          if (tokens.length !== 1) singleTokens = false;
          return bound(sequenceId, firstTokenIndex, tokens, logits);
        };
      }
      if (key === "decodeBatch") {
        const decode = hooks.onDecodeTime ? timedAsync(bound, hooks.onDecodeTime) : bound;
        return (...args: unknown[]) => {
          hooks.onDecode?.(sequenceIds, singleTokens);
          return decode(...args);
        };
      }
      if (key === "sampleToken" && hooks.onSampleTime) return timedAsync(bound, hooks.onSampleTime);
      return bound;
    },
  });
}
