import { z } from "zod";
import { InvalidArgumentError } from "../../errors/index.js";

/** Defaults follow PyTorch's torch.optim.AdamW except the learning rate (LoRA's usual 2e-4). */
export interface AdamWOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const adamWDefaults: AdamWOptions = { learningRate: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

export const adamWOptionsSchema = z.object({
  learningRate: z.number().positive(),
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  eps: z.number().positive(),
  weightDecay: z.number().min(0),
});

/**
 * AdamW with decoupled weight decay, exactly PyTorch's update order:
 * p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps).
 * The moment buffers are allocated once here; step() never allocates.
 */
export class AdamW {
  readonly options: AdamWOptions;
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;

  constructor(
    readonly params: Float32Array,
    readonly grads: Float32Array,
    options: Partial<AdamWOptions> = {},
  ) {
    const parsed = adamWOptionsSchema.safeParse({ ...adamWDefaults, ...options });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidArgumentError(`adamw.${issue.path.join(".")}`, `invalid AdamW option ${issue.path.join(".")}: ${issue.message}`);
    }
    if (params.length !== grads.length) throw new InvalidArgumentError("grads", `params (${params.length}) and grads (${grads.length}) differ in size`);
    this.options = parsed.data;
    this.m = new Float32Array(params.length);
    this.v = new Float32Array(params.length);
  }

  /** One update; learningRate overrides the configured one (schedules pass it each step). */
  update(learningRate = this.options.learningRate): void {
    const { beta1, beta2, eps, weightDecay } = this.options;
    const { params, grads, m, v } = this;
    this.step++;
    const correction1 = 1 - Math.pow(beta1, this.step);
    const correction2 = 1 - Math.pow(beta2, this.step);
    const decay = 1 - learningRate * weightDecay;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * g);
      const vi = (v[i] = beta2 * v[i] + (1 - beta2) * g * g);
      params[i] = params[i] * decay - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + eps);
    }
  }
}
