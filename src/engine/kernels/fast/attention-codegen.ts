// Attention kernels generated for one head size: the causal GQA attention of ../reference/attention.ts over a
// range of (batch, key/value head) units (so two threads can split a call), with every loop over the head
// dimension unrolled and the query (forward) or output gradient (backward) held in locals, which V8
// keeps in registers: at the 8-wide heads of stories260K the loop bookkeeping cost more than the
// arithmetic. Passes are fused too: exp, the softmax sum and the weighted sum of values share one pass
// over the keys (normalising at the end), and both directions take two query rows at a time.
// The source text is built here and compiled with `new Function` on both threads (the helper gets
// the text, see ./parallel-attention.ts). Checked against the reference in test/engine.

/** Dimensions per pass: more locals than this spill out of the 16 vector registers anyway. */
const GROUP = 16;

export type AttentionForwardKernel = (out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, B: number, T: number, NH: number, NKV: number, unitStart: number, unitEnd: number, expTable: Float64Array) => void;
export type AttentionBackwardKernel = (dq: Float32Array, dk: Float32Array, dv: Float32Array, scratch: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, B: number, T: number, NH: number, NKV: number, unitStart: number, unitEnd: number) => void;

function groupsOf(HS: number): number[][] {
  const groups: number[][] = [];
  for (let start = 0; start < HS; start += GROUP) groups.push(Array.from({ length: Math.min(GROUP, HS - start) }, (_, i) => start + i));
  return groups;
}

const sumOf = (terms: string[]) => terms.join(" + ");

/** expNonPositive of ./fast-exp.ts inlined (expTable is its table): `e` = exp(score - max). */
const inlineExp = (e: string, max: string, score: string) => `
            {
              const y = (${max} - ${score}) * 64;
              if (!(y < ${88 * 64})) ${e} = y === y ? 0 : NaN;
              else {
                const j = y | 0;
                const r = (y - j) * ${1 / 64};
                ${e} = expTable[j] * (1 - r * (1 - r * (0.5 - r * (${1 / 6} - r * ${1 / 24}))));
              }
            }`;

/**
 * Forward, two query rows (t, t+1) at a time sharing every load of k and v (an odd last row runs
 * alone): scores and row maxima, then exp + sums + weighted values in one pass, normalised at the end.
 */
export function attentionForwardSource(HS: number): string {
  const scale = 1 / Math.sqrt(HS);
  const all = Array.from({ length: HS }, (_, i) => i);
  const paired = `
          const qBase0 = (b * T + t) * qStride + h * ${HS}, qBase1 = qBase0 + qStride;
          const attRow0 = ((b * NH + h) * T + t) * T, attRow1 = attRow0 + T;
          ${all.map((i) => `const q0_${i} = q[qBase0 + ${i}] * ${scale}, q1_${i} = q[qBase1 + ${i}] * ${scale};`).join(" ")}
          let max0 = -Infinity, max1 = -Infinity;
          let t2 = 0, kb = kvOffset;
          for (; t2 <= t; t2++, kb += kvStride) {
            ${all.map((i) => `const k${i} = k[kb + ${i}];`).join(" ")}
            const s0 = ${sumOf(all.map((i) => `q0_${i} * k${i}`))};
            const s1 = ${sumOf(all.map((i) => `q1_${i} * k${i}`))};
            att[attRow0 + t2] = s0; att[attRow1 + t2] = s1;
            if (s0 > max0) max0 = s0;
            if (s1 > max1) max1 = s1;
          }
          {
            const s1 = ${sumOf(all.map((i) => `q1_${i} * k[kb + ${i}]`))};
            att[attRow1 + t2] = s1;
            if (s1 > max1) max1 = s1;
          }
          let sum0 = 0, sum1 = 0;
          ${groupsOfSize(HS, PAIR_GROUP)
            .map((dims, g) => `
          {
            ${dims.map((i) => `let a0_${i} = 0, a1_${i} = 0;`).join(" ")}
            let t2 = 0, vb = kvOffset;
            for (; t2 <= t; t2++, vb += kvStride) {
              let e0 = 0, e1 = 0;
              ${g === 0 ? `${inlineExp("e0", "max0", "att[attRow0 + t2]")}${inlineExp("e1", "max1", "att[attRow1 + t2]")}
              att[attRow0 + t2] = e0; att[attRow1 + t2] = e1;
              sum0 += e0; sum1 += e1;` : `e0 = att[attRow0 + t2]; e1 = att[attRow1 + t2];`}
              ${dims.map((i) => `const x${i} = v[vb + ${i}]; a0_${i} += e0 * x${i}; a1_${i} += e1 * x${i};`).join(" ")}
            }
            let e1 = 0;
            ${g === 0 ? `${inlineExp("e1", "max1", "att[attRow1 + t2]")}
            att[attRow1 + t2] = e1;
            sum1 += e1;` : `e1 = att[attRow1 + t2];`}
            ${dims.map((i) => `a1_${i} += e1 * v[vb + ${i}];`).join(" ")}
            const inv0 = 1 / sum0, inv1 = 1 / sum1;
            ${dims.map((i) => `out[qBase0 + ${i}] = a0_${i} * inv0; out[qBase1 + ${i}] = a1_${i} * inv1;`).join(" ")}
          }`)
            .join("")}
          const inv0 = 1 / sum0, inv1 = 1 / sum1;
          for (let s = 0; s <= t; s++) att[attRow0 + s] *= inv0;
          for (let s = 0; s <= t + 1; s++) att[attRow1 + s] *= inv1;`;
  const single = `
          const qBase = (b * T + t) * qStride + h * ${HS};
          const attRow = ((b * NH + h) * T + t) * T;
          ${all.map((i) => `const q${i} = q[qBase + ${i}] * ${scale};`).join(" ")}
          let maxScore = -Infinity;
          for (let t2 = 0, kb = kvOffset; t2 <= t; t2++, kb += kvStride) {
            const s = ${sumOf(all.map((i) => `q${i} * k[kb + ${i}]`))};
            att[attRow + t2] = s;
            if (s > maxScore) maxScore = s;
          }
          let sum = 0;
          ${groupsOf(HS)
            .map((dims, g) => `
          {
            ${dims.map((i) => `let a${i} = 0;`).join(" ")}
            for (let t2 = 0, vb = kvOffset; t2 <= t; t2++, vb += kvStride) {
              let e = 0;
              ${g === 0 ? `${inlineExp("e", "maxScore", "att[attRow + t2]")}
              att[attRow + t2] = e;
              sum += e;` : `e = att[attRow + t2];`}
              ${dims.map((i) => `a${i} += e * v[vb + ${i}];`).join(" ")}
            }
            const inv = 1 / sum;
            ${dims.map((i) => `out[qBase + ${i}] = a${i} * inv;`).join(" ")}
          }`)
            .join("")}
          const inv = 1 / sum;
          for (let t2 = 0; t2 <= t; t2++) att[attRow + t2] *= inv;`;
  return `function attentionForward${HS}(out, att, q, k, v, B, T, NH, NKV, unitStart, unitEnd, expTable) {
  const group = NH / NKV;
  const qStride = NH * ${HS}, kvStride = NKV * ${HS};
  for (let unit = unitStart; unit < unitEnd; unit++) {
    const b = Math.floor(unit / NKV), kvh = unit % NKV;
    const kvOffset = b * T * kvStride + kvh * ${HS};
    for (let h = kvh * group; h < (kvh + 1) * group; h++) {
      let t = 0;
      for (; t + 1 < T; t += 2) {${paired}
      }
      for (; t < T; t++) {${single}
      }
    }
  }
}`;
}

/** Dimensions per pass when two query rows share it (twice the accumulators). */
const PAIR_GROUP = 8;

function groupsOfSize(HS: number, size: number): number[][] {
  const groups: number[][] = [];
  for (let start = 0; start < HS; start += size) groups.push(Array.from({ length: Math.min(size, HS - start) }, (_, i) => start + i));
  return groups;
}

/**
 * Backward, two query rows (t, t+1) at a time: they share every load of v and k and, above all, every
 * read-modify-write of dv and dk (one per key for both rows instead of one each), which is what the
 * one-row loop spends its time on. work0/work1 hold the rows' softmax gradients; an odd last row runs
 * alone. A closure so each thread's compiled kernel owns its second row buffer.
 */
export function attentionBackwardSource(HS: number): string {
  const scale = 1 / Math.sqrt(HS);
  const all = Array.from({ length: HS }, (_, i) => i);
  const paired = `
          const qBase0 = (b * T + t) * qStride + h * ${HS}, qBase1 = qBase0 + qStride;
          const attRow0 = ((b * NH + h) * T + t) * T, attRow1 = attRow0 + T;
          ${all.map((i) => `const g0_${i} = dout[qBase0 + ${i}], g1_${i} = dout[qBase1 + ${i}];`).join(" ")}
          let weighted0 = 0, weighted1 = 0;
          let t2 = 0, vb = kvOffset;
          for (; t2 <= t; t2++, vb += kvStride) {
            const p0 = att[attRow0 + t2], p1 = att[attRow1 + t2];
            ${all.map((i) => `const x${i} = v[vb + ${i}];`).join(" ")}
            const dot0 = ${sumOf(all.map((i) => `g0_${i} * x${i}`))};
            const dot1 = ${sumOf(all.map((i) => `g1_${i} * x${i}`))};
            ${all.map((i) => `dv[vb + ${i}] += p0 * g0_${i} + p1 * g1_${i};`).join(" ")}
            work0[t2] = dot0; work1[t2] = dot1;
            weighted0 += p0 * dot0; weighted1 += p1 * dot1;
          }
          {
            // key t + 1: row t + 1 only
            const p1 = att[attRow1 + t2];
            const dot1 = ${sumOf(all.map((i) => `g1_${i} * v[vb + ${i}]`))};
            ${all.map((i) => `dv[vb + ${i}] += p1 * g1_${i};`).join(" ")}
            work1[t2] = dot1; weighted1 += p1 * dot1;
          }
          for (let s = 0; s <= t; s++) work0[s] = att[attRow0 + s] * (work0[s] - weighted0) * ${scale};
          for (let s = 0; s <= t + 1; s++) work1[s] = att[attRow1 + s] * (work1[s] - weighted1) * ${scale};
          ${groupsOfSize(HS, PAIR_GROUP)
            .map((dims) => `
          {
            ${dims.map((i) => `const q0_${i} = q[qBase0 + ${i}], q1_${i} = q[qBase1 + ${i}]; let a0_${i} = 0, a1_${i} = 0;`).join(" ")}
            let t2 = 0, kb = kvOffset;
            for (; t2 <= t; t2++, kb += kvStride) {
              const d0 = work0[t2], d1 = work1[t2];
              ${dims.map((i) => `const k${i} = k[kb + ${i}]; a0_${i} += d0 * k${i}; a1_${i} += d1 * k${i}; dk[kb + ${i}] += d0 * q0_${i} + d1 * q1_${i};`).join(" ")}
            }
            const d1 = work1[t2];
            ${dims.map((i) => `a1_${i} += d1 * k[kb + ${i}]; dk[kb + ${i}] += d1 * q1_${i};`).join(" ")}
            ${dims.map((i) => `dq[qBase0 + ${i}] += a0_${i}; dq[qBase1 + ${i}] += a1_${i};`).join(" ")}
          }`)
            .join("")}`;
  const single = `
          const qBase = (b * T + t) * qStride + h * ${HS};
          const attRow = ((b * NH + h) * T + t) * T;
          ${all.map((i) => `const g${i} = dout[qBase + ${i}];`).join(" ")}
          let weighted = 0;
          for (let t2 = 0, vb = kvOffset; t2 <= t; t2++, vb += kvStride) {
            const p = att[attRow + t2];
            const dot = ${sumOf(all.map((i) => `g${i} * v[vb + ${i}]`))};
            ${all.map((i) => `dv[vb + ${i}] += p * g${i};`).join(" ")}
            work0[t2] = dot;
            weighted += p * dot;
          }
          for (let t2 = 0; t2 <= t; t2++) work0[t2] = att[attRow + t2] * (work0[t2] - weighted) * ${scale};
          ${groupsOf(HS)
            .map((dims) => `
          {
            ${dims.map((i) => `const q${i} = q[qBase + ${i}]; let a${i} = 0;`).join(" ")}
            for (let t2 = 0, kb = kvOffset; t2 <= t; t2++, kb += kvStride) {
              const d = work0[t2];
              ${dims.map((i) => `a${i} += d * k[kb + ${i}]; dk[kb + ${i}] += d * q${i};`).join(" ")}
            }
            ${dims.map((i) => `dq[qBase + ${i}] += a${i};`).join(" ")}
          }`)
            .join("")}`;
  return `(function () {
  let work1 = new Float32Array(0);
  return function attentionBackward${HS}(dq, dk, dv, work0, dout, q, k, v, att, B, T, NH, NKV, unitStart, unitEnd) {
    if (work1.length < T) work1 = new Float32Array(T);
    const group = NH / NKV;
    const qStride = NH * ${HS}, kvStride = NKV * ${HS};
    for (let unit = unitStart; unit < unitEnd; unit++) {
      const b = Math.floor(unit / NKV), kvh = unit % NKV;
      const kvOffset = b * T * kvStride + kvh * ${HS};
      for (let h = kvh * group; h < (kvh + 1) * group; h++) {
        let t = 0;
        for (; t + 1 < T; t += 2) {${paired}
        }
        for (; t < T; t++) {${single}
        }
      }
    }
  };
})()`;
}

const compiled = new Map<number, { forward: AttentionForwardKernel; backward: AttentionBackwardKernel }>();

/** The generated kernels for head size HS, compiled once per process. */
export function attentionKernelsFor(HS: number): { forward: AttentionForwardKernel; backward: AttentionBackwardKernel } {
  let kernels = compiled.get(HS);
  if (!kernels) {
    kernels = {
      forward: new Function(`return ${attentionForwardSource(HS)}`)() as AttentionForwardKernel,
      backward: new Function(`return ${attentionBackwardSource(HS)}`)() as AttentionBackwardKernel,
    };
    compiled.set(HS, kernels);
  }
  return kernels;
}
