import type { KernelFunction, MatmulLayout, runBlocks } from "./matmul-simd.js";

// The one job protocol between a kernel set's thread and its one helper thread, shared by both sides.
// A job is posted in shared memory, not as a message, so that it costs no message passing: the header's
// control word (./helper-loop.ts) says JOB, the header's family word says whose job it is, and that
// family's region of the same SharedArrayBuffer holds the job's operands (its kind, shape, addresses or
// (buffer id, byte offset, length) triples, and the counter both threads claim units from). What a job
// needs that does not fit in words (compiled modules, shared buffers, kernel source) goes over the one
// port beforehand, as a HelperMessage, and the helper drains the port before each job.

/** Whose job the control word announces (the header's second word). */
export const MATMUL_JOB = 0, ATTENTION_JOB = 1, POINTWISE_JOB = 2;
export type HelperFamily = typeof MATMUL_JOB | typeof ATTENTION_JOB | typeof POINTWISE_JOB;

/** Header words: the control word (state), then the family of the posted job. */
export const STATE = 0, FAMILY = 1;
/** The header's bytes, then one region per family, each REGION_BYTES (8-byte aligned: pointwise keeps float64 slots). */
export const HEADER_BYTES = 64, REGION_BYTES = 512;
export const HELPER_BUFFER_BYTES = HEADER_BYTES + 3 * REGION_BYTES;

// Matmul region (int32): unused, outAt, xAt, wAt, C, rowBytes, outRowBytes, panelBytes, accumulate (the
// layout), then rowBlocks, panels, rows, panelStep, byRows, unitSize, units, next unit, units the helper
// ran, and the layout's wStepBytes and kernelId.
export const MATMUL_NEXT = 16, MATMUL_HELPER_UNITS = 17, MATMUL_W_STEP = 18, MATMUL_KERNEL_ID = 19;

// Attention region (int32): unused, kind, B, T, NH, NKV, HS, next unit, units, then (id, byteOffset,
// length) per array (in-place jobs: byte addresses), then which posted in-place kernels run, then how many
// units the helper ran in the last job.
export const ATTENTION_FORWARD = 1, ATTENTION_BACKWARD = 2, ATTENTION_SIMD_FORWARD = 3, ATTENTION_SIMD_BACKWARD = 4, ATTENTION_RESIDENT_FORWARD = 5, ATTENTION_RESIDENT_BACKWARD = 6;
export const ATTENTION_NEXT_UNIT = 7, ATTENTION_ARRAYS_AT = 9, ATTENTION_MAX_ARRAYS = 8;
export const ATTENTION_RESIDENT_ID = ATTENTION_ARRAYS_AT + ATTENTION_MAX_ARRAYS;
export const ATTENTION_HELPER_UNITS = ATTENTION_ARRAYS_AT + 3 * ATTENTION_MAX_ARRAYS;

// Pointwise region (int32): unused, kind, next unit, units, params[8], factor (float bits), array count,
// units the helper ran; then, from byte POINTWISE_SLOTS_BYTE, the arrays as float64 (id, byte offset,
// length, type), as offsets into a large model's activations pass 2^31.
export const POINTWISE_KIND = 1, POINTWISE_NEXT_UNIT = 2, POINTWISE_UNITS = 3, POINTWISE_PARAMS = 4, POINTWISE_PARAM_COUNT = 8;
export const POINTWISE_FACTOR = 12, POINTWISE_ARRAY_COUNT = 13, POINTWISE_HELPER_UNITS = 14, POINTWISE_SLOTS_BYTE = 64, POINTWISE_MAX_ARRAYS = 6;
/** The element types of pointwise operands, by the index a slot names. */
export const POINTWISE_ARRAY_TYPES = [Float32Array, Uint8Array, Float64Array];

/** What goes over the port, each before the first job that needs it. */
export type HelperMessage =
  /** A shared buffer jobs name by id (./posted-buffers.ts), and the id of one this thread dropped. */
  | { id: number; buffer: SharedArrayBuffer }
  | { forget: number }
  /** A compiled matmul kernel for the set's shared workspace memory. */
  | { family: typeof MATMUL_JOB; kernelId: number; module: WebAssembly.Module; memory: WebAssembly.Memory }
  /** The generated JS attention kernels for a head size, as source text. */
  | { family: typeof ATTENTION_JOB; headSize: number; forward: string; backward: string }
  /** A compiled SIMD attention module for a shape key, run in a memory of the helper's own. */
  | { family: typeof ATTENTION_JOB; simdKey: string; module: WebAssembly.Module; layout: unknown }
  /** In-place attention kernels compiled for the helper's scratch in the set's memory. */
  | { family: typeof ATTENTION_JOB; residentId: number; module: WebAssembly.Module; memory: WebAssembly.Memory; layout: unknown }
  /** The pointwise module (the helper's own workspace is made from it). */
  | { family: typeof POINTWISE_JOB; module: WebAssembly.Module }
  /** The pointwise module compiled for a registered memory, and that memory (null: none). */
  | { family: typeof POINTWISE_JOB; resident: { module: WebAssembly.Module; memory: WebAssembly.Memory } | null };

/** What the helper posts back: why a job failed. */
export interface HelperReport {
  error: string;
}

/**
 * Claims matmul units from the region's counter until none is left, running each: unit u covers row
 * blocks (or panels) [u * unitSize, +unitSize). Self-contained on purpose: its source also runs inside
 * the helper thread, so both threads run one loop.
 */
export function runUnits(kernel: KernelFunction, word: Int32Array, runBlocksFunction: typeof runBlocks): number {
  const layout: MatmulLayout = { outAt: word[1], xAt: word[2], wAt: word[3], C: word[4], rowBytes: word[5], outRowBytes: word[6], panelBytes: word[7], accumulate: word[8], wStepBytes: word[18], kernelId: word[19] };
  const rowBlocks = word[9], panels = word[10], rows = word[11], panelStep = word[12], byRows = word[13] === 1, unitSize = word[14], units = word[15];
  let ran = 0;
  for (let unit = Atomics.add(word, 16, 1); unit < units; unit = Atomics.add(word, 16, 1)) {
    const first = unit * unitSize;
    if (byRows) runBlocksFunction(kernel, layout, first, Math.min(unitSize, rowBlocks - first), 0, panels, rows, panelStep);
    else runBlocksFunction(kernel, layout, 0, rowBlocks, first, Math.min(unitSize, panels - first), rows, panelStep);
    ran++;
  }
  return ran;
}
