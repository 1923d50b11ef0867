import { crossEntropyBackward, crossEntropyForward } from "./cross-entropy.js";
import type { KernelSet } from "./kernel-set.js";
import { swigluBackward, swigluForward } from "./swiglu.js";

// The fast set's element-wise kernels (softmax cross-entropy over the vocabulary, SwiGLU).

export const fastCrossEntropyForward: KernelSet["crossEntropyForward"] = crossEntropyForward;
export const fastCrossEntropyBackward: KernelSet["crossEntropyBackward"] = crossEntropyBackward;
export const fastSwigluForward: KernelSet["swigluForward"] = swigluForward;
export const fastSwigluBackward: KernelSet["swigluBackward"] = swigluBackward;
