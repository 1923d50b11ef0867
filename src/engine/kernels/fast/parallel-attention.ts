import {
  ATTENTION_ARRAYS_AT as ARRAYS_AT, ATTENTION_BACKWARD as BACKWARD, ATTENTION_FORWARD as FORWARD, ATTENTION_HELPER_UNITS as HELPER_UNITS, ATTENTION_JOB,
  ATTENTION_NEXT_UNIT as NEXT_UNIT, ATTENTION_RESIDENT_BACKWARD as RESIDENT_BACKWARD, ATTENTION_RESIDENT_FORWARD as RESIDENT_FORWARD, ATTENTION_RESIDENT_ID as RESIDENT_ID,
  ATTENTION_SIMD_BACKWARD as SIMD_BACKWARD, ATTENTION_SIMD_FORWARD as SIMD_FORWARD,
} from "./helper-jobs.js";
import { KernelHelper } from "./kernel-helper.js";
import type { AttentionShape } from "../reference/attention.js";
import { attentionBackwardSource, attentionForwardSource, attentionKernelsFor } from "./attention-codegen.js";
import { CamelidError } from "../../../errors/index.js";
import { expTable } from "./fast-exp.js";
import { attentionModuleKey, compiledAttention, SimdAttentionThread } from "./attention-simd.js";
import type { ResidentAttention, ResidentKernels } from "./attention-resident.js";

// Attention on two threads: this thread and the kernel set's one helper thread (./kernel-helper.ts,
// given by the set; an object run alone makes its own) share out the units of a call, taken one
// at a time from a shared counter. Where the WebAssembly SIMD kernels apply (./attention-simd.ts)
// a unit is a batch element (or a key/value head range of one when B < 4) and each thread runs the
// compiled module (posted to the helper) in its own memory (./attention-units.ts); otherwise a
// unit is a (batch, key/value head) pair run by the JS kernels generated for the head size
// (./attention-codegen.ts, whose source text the helper compiles). Either way a unit owns its rows of
// out/att/dq and of dk/dv, so units never write the same memory.
// The operands must live in SharedArrayBuffers (the model allocates its activations and gradient
// scratch that way), so nothing is copied between the threads: a buffer is posted to the helper once,
// and a job names arrays as (buffer id, byte offset, length) in the attention region of the helper's
// shared buffer (./helper-jobs.ts), whose control word hands jobs over with Atomics: the helper claims a job (job -> running) before touching it, so when this
// thread has run every unit before the helper woke (a busy machine can keep it asleep for a time
// slice), it withdraws the job (job -> idle) instead of waiting for the helper to wake.
// When every operand lives in one shared WebAssembly memory (./attention-resident.ts) a job names
// byte addresses in it instead, and each thread runs in-place kernels compiled for its own scratch.

/** The helper thread threw (a bug, not bad input). */
export class AttentionHelperError extends CamelidError {
  readonly code = "engine_helper_failed";
}

export class ParallelAttention {
  private readonly helper: KernelHelper;
  /** Whether the helper is this object's own (run alone) rather than its kernel set's. */
  private readonly ownHelper: boolean;
  private readonly control: Int32Array;
  /** Head sizes whose kernel source the helper has. */
  private readonly headSizesPosted = new Set<number>();
  /** Shape keys (HS, T, NH, NKV) whose compiled SIMD module the helper has. */
  private readonly simdPosted = new Set<string>();
  private readonly simd = new SimdAttentionThread();
  /** In-place kernels posted to the helper, by the id its jobs name them with. */
  private readonly residentPosted = new Map<ResidentKernels, number>();

  /**
   * simd: false keeps both threads on the generated JS kernels (benchmarks compare the two).
   * helperRunsEveryUnit (tests): this thread takes no unit, so the helper's code path runs every time.
   */
  constructor(private readonly options: { simd?: boolean; helperRunsEveryUnit?: boolean } = {}, helper?: KernelHelper) {
    this.ownHelper = !helper;
    this.helper = helper ?? new KernelHelper();
    this.control = this.helper.region(ATTENTION_JOB);
  }

  /** True when every array is a view of a SharedArrayBuffer (else the caller runs one thread). */
  static canShare(...arrays: Float32Array[]): boolean {
    return arrays.every((a) => a.buffer instanceof SharedArrayBuffer);
  }

  forward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void {
    const { B, T, NH, NKV, HS } = shape;
    if (this.postSimdModule(shape)) {
      this.start(SIMD_FORWARD, shape, B, [out, att, q, k, v]);
      if (!this.options.helperRunsEveryUnit) this.simd.forward(out, att, q, k, v, shape, this.control, NEXT_UNIT);
      return this.finish();
    }
    const units = B * NKV, kernel = attentionKernelsFor(HS).forward, word = this.control;
    this.start(FORWARD, shape, units, [out, att, q, k, v]);
    if (!this.options.helperRunsEveryUnit) for (let u = Atomics.add(word, NEXT_UNIT, 1); u < units; u = Atomics.add(word, NEXT_UNIT, 1)) kernel(out, att, q, k, v, B, T, NH, NKV, u, u + 1, expTable);
    this.finish();
  }

  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape): void {
    const { B, T, NH, NKV, HS } = shape;
    if (this.postSimdModule(shape)) {
      this.start(SIMD_BACKWARD, shape, B, [dq, dk, dv, dout, q, k, v, att]);
      if (!this.options.helperRunsEveryUnit) this.simd.backward(dq, dk, dv, dout, q, k, v, att, shape, this.control, NEXT_UNIT);
      return this.finish();
    }
    const units = B * NKV, kernel = attentionKernelsFor(HS).backward, word = this.control;
    this.start(BACKWARD, shape, units, [dq, dk, dv, dout, q, k, v, att]);
    if (!this.options.helperRunsEveryUnit) for (let u = Atomics.add(word, NEXT_UNIT, 1); u < units; u = Atomics.add(word, NEXT_UNIT, 1)) kernel(dq, dk, dv, scratch, dout, q, k, v, att, B, T, NH, NKV, u, u + 1);
    this.finish();
  }

  /**
   * forward on operands living in `resident`'s memory, at the byte addresses `at` (out, att, q, k, v),
   * run in place; false (nothing done) when the in-place kernels cannot be had for the shape.
   */
  forwardResident(resident: ResidentAttention, at: number[], shape: AttentionShape): boolean {
    if (!this.startResident(RESIDENT_FORWARD, resident, at, shape)) return false;
    if (!this.options.helperRunsEveryUnit) resident.forward(at, shape, this.control, NEXT_UNIT);
    this.finish();
    return true;
  }

  /** backward in place, `at` the byte addresses of dq, dk, dv, dout, q, k, v, att; false when the in-place kernels cannot be had. */
  backwardResident(resident: ResidentAttention, at: number[], shape: AttentionShape): boolean {
    if (!this.startResident(RESIDENT_BACKWARD, resident, at, shape)) return false;
    if (!this.options.helperRunsEveryUnit) resident.backward(at, shape, this.control, NEXT_UNIT);
    this.finish();
    return true;
  }

  /** How many units the helper thread ran in the last call (0 when this thread took them all). */
  get helperUnits(): number {
    return this.control[HELPER_UNITS];
  }

  /** Stops its own helper thread (tests; a process exit stops it anyway). */
  async close(): Promise<void> {
    if (this.ownHelper) await this.helper.close();
  }

  /** Stops its own helper thread at once (a kernel set's helper is the set's to stop). */
  dispose(): void {
    if (this.ownHelper) this.helper.dispose();
  }

  /** True when this call runs on the SIMD kernels; the helper then has their module. */
  private postSimdModule(shape: AttentionShape): boolean {
    if (this.options.simd === false) return false;
    const compiled = compiledAttention(shape);
    if (!compiled) return false;
    const key = attentionModuleKey(shape);
    if (!this.simdPosted.has(key)) {
      this.helper.post({ family: ATTENTION_JOB, simdKey: key, module: compiled.module, layout: compiled.layout });
      this.simdPosted.add(key);
    }
    return true;
  }

  /** Posts the helper's in-place kernels (slot 1) once, then the job; false when either thread's kernels cannot be had. */
  private startResident(kind: number, resident: ResidentAttention, at: number[], shape: AttentionShape): boolean {
    const mine = resident.kernelsFor(shape, 0), helpers = resident.kernelsFor(shape, 1);
    if (!mine || !helpers) return false;
    let id = this.residentPosted.get(helpers);
    if (id === undefined) {
      id = this.residentPosted.size;
      this.helper.post({ family: ATTENTION_JOB, residentId: id, module: helpers.module, memory: resident.resident.memory, layout: helpers.layout });
      this.residentPosted.set(helpers, id);
    }
    const word = this.control;
    word[1] = kind;
    word[2] = shape.B; word[3] = shape.T; word[4] = shape.NH; word[5] = shape.NKV; word[6] = shape.HS;
    word[NEXT_UNIT] = 0; word[8] = 0; word[HELPER_UNITS] = 0;
    at.forEach((address, slot) => (word[ARRAYS_AT + slot] = address));
    word[RESIDENT_ID] = id;
    this.helper.start(ATTENTION_JOB);
    return true;
  }

  private start(kind: number, shape: AttentionShape, units: number, arrays: Float32Array[]): void {
    if ((kind === FORWARD || kind === BACKWARD) && !this.headSizesPosted.has(shape.HS)) {
      this.helper.post({ family: ATTENTION_JOB, headSize: shape.HS, forward: attentionForwardSource(shape.HS), backward: attentionBackwardSource(shape.HS) });
      this.headSizesPosted.add(shape.HS);
    }
    const word = this.control;
    word[1] = kind;
    word[2] = shape.B; word[3] = shape.T; word[4] = shape.NH; word[5] = shape.NKV; word[6] = shape.HS;
    word[NEXT_UNIT] = 0; word[8] = units; word[HELPER_UNITS] = 0;
    arrays.forEach((array, slot) => {
      const at = ARRAYS_AT + slot * 3;
      word[at] = this.helper.buffers.idOf(array.buffer as SharedArrayBuffer);
      word[at + 1] = array.byteOffset;
      word[at + 2] = array.length;
    });
    this.helper.start(ATTENTION_JOB);
  }

  /** Called once this thread has found no unit left: withdraws the job if the helper never claimed it, else waits for it. */
  private finish(): void {
    if (!this.options.helperRunsEveryUnit && this.helper.withdraw()) return; // the helper never started
    const failure = this.helper.wait();
    if (failure !== null) throw new AttentionHelperError(`the attention helper thread failed: ${failure}`);
  }
}
