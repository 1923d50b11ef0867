import { describe, expect, it } from "vitest";
import { dpoLoss, logSigmoid, type PairLogProbs } from "../../src/train/dpo-loss.js";
import type { DpoSettings } from "../../src/train/export-preference-recipes.js";

// trl's dpo_loss as a pure function of the four log-prob sums: its gradient with respect to the
// policy's sums is what the engine back-propagates, so it is checked against finite differences here
// (the golden test checks the whole chain against PyTorch).
const logps = (): PairLogProbs => ({
  policyChosen: Float64Array.from([-40.5, -12.25, -80]),
  policyRejected: Float64Array.from([-38, -20.5, -60]),
  referenceChosen: Float64Array.from([-41, -13, -79]),
  referenceRejected: Float64Array.from([-37.5, -19, -61]),
  chosenTokens: Float64Array.from([10, 4, 20]),
  rejectedTokens: Float64Array.from([9, 6, 15]),
  chosenMeanLogit: -1,
  rejectedMeanLogit: -2,
});

const variants: [string, DpoSettings][] = [
  ["sigmoid", { beta: 0.1, lossType: "sigmoid", labelSmoothing: 0 }],
  ["sigmoid with label smoothing", { beta: 0.5, lossType: "sigmoid", labelSmoothing: 0.2 }],
  ["ipo", { beta: 0.1, lossType: "ipo", labelSmoothing: 0 }],
];

describe("dpoLoss", () => {
  it.each(variants)("%s: the gradient with respect to the policy's log-prob sums matches finite differences", (_, settings) => {
    const base = logps();
    const result = dpoLoss(base, settings);
    for (const side of ["policyChosen", "policyRejected"] as const) {
      const analytic = side === "policyChosen" ? result.dPolicyChosen : result.dPolicyRejected;
      for (let i = 0; i < 3; i++) {
        const h = 1e-5, plus = logps(), minus = logps();
        plus[side][i] += h;
        minus[side][i] -= h;
        const numeric = (dpoLoss(plus, settings).loss - dpoLoss(minus, settings).loss) / (2 * h);
        expect(Math.abs(numeric - analytic[i])).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
      }
    }
  });

  it("sigmoid: log 2 and zero rewards when the policy is the reference; trl's metrics from the rewards", () => {
    const same = logps();
    same.policyChosen.set(same.referenceChosen);
    same.policyRejected.set(same.referenceRejected);
    const result = dpoLoss(same, { beta: 0.1, lossType: "sigmoid", labelSmoothing: 0 });
    expect(result.loss).toBeCloseTo(Math.log(2), 12);
    expect(result.metrics["rewards/margins"]).toBe(0);
    const moved = dpoLoss(logps(), { beta: 0.1, lossType: "sigmoid", labelSmoothing: 0 });
    // rewards: 0.1·(0.5, 0.75, −1) chosen, 0.1·(−0.5, −1.5, 1) rejected → accurate on pairs 1 and 2
    expect(moved.metrics["rewards/chosen"]).toBeCloseTo((0.05 + 0.075 - 0.1) / 3, 12);
    expect(moved.metrics["rewards/rejected"]).toBeCloseTo((-0.05 - 0.15 + 0.1) / 3, 12);
    expect(moved.metrics["rewards/accuracies"]).toBeCloseTo(2 / 3, 12);
    expect(moved.metrics["logps/chosen"]).toBeCloseTo((-40.5 - 12.25 - 80) / 3, 12);
    expect(moved.metrics["logits/rejected"]).toBe(-2);
  });

  it("ipo compares log-probs averaged over each answer's tokens (trl's size_completion), and its metrics use them", () => {
    const result = dpoLoss(logps(), { beta: 0.1, lossType: "ipo", labelSmoothing: 0 });
    const h = [0, 1, 2].map((i) => {
      const [pc, pr, rc, rr] = [logps().policyChosen[i], logps().policyRejected[i], logps().referenceChosen[i], logps().referenceRejected[i]];
      const [nc, nr] = [logps().chosenTokens[i], logps().rejectedTokens[i]];
      return pc / nc - pr / nr - (rc / nc - rr / nr);
    });
    expect(result.loss).toBeCloseTo(h.reduce((sum, x) => sum + (x - 5) ** 2, 0) / 3, 10);
    expect(result.metrics["logps/chosen"]).toBeCloseTo((-40.5 / 10 - 12.25 / 4 - 80 / 20) / 3, 12);
  });

  it("log σ stays finite far from zero", () => {
    expect(logSigmoid(-800)).toBe(-800);
    expect(logSigmoid(800)).toBeCloseTo(0, 15);
    expect(logSigmoid(0)).toBeCloseTo(-Math.log(2), 15);
  });
});
