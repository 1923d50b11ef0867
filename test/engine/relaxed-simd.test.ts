import { describe, expect, it } from "vitest";
import { matmulForward } from "../../src/engine/kernels/reference/matmul.js";
import { SimdMatmul } from "../../src/engine/kernels/fast/matmul-simd.js";
import { relaxedSimdAvailable } from "../../src/engine/kernels/fast/relaxed-simd.js";
import { SeededRandom } from "../../src/random/seeded-random.js";
import { relativeError } from "./gradient-check.js";

const randomF32 = (size: number, random: SeededRandom) => Float32Array.from({ length: size }, () => random.uniform(-1, 1));

describe("fused multiply-add matmul (relaxed SIMD)", () => {
  it("is available on this runtime (else the matmul silently keeps mul + add)", () => {
    expect(relaxedSimdAvailable()).toBe(true);
  });

  it.each([false, true])("the kernel with fused=%s equals the reference", (fused) => {
    const simd = new SimdMatmul({ fused });
    const random = new SeededRandom(fused ? 21 : 22);
    for (const [N, C, OC] of [[6, 12, 9], [34, 288, 68], [4, 2052, 8]]) {
      const inp = randomF32(N * C, random), weight = randomF32(OC * C, random);
      for (const accumulate of [false, true]) {
        const expected = randomF32(N * OC, random), actual = expected.slice();
        matmulForward(expected, inp, weight, N, C, OC, accumulate);
        simd.forward(actual, inp, weight, N, C, OC, accumulate);
        expect(relativeError(actual, expected)).toBeLessThan(1e-6);
      }
    }
  });
});
