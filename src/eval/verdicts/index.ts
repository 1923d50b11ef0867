export * from "./single-rating.js";
export * from "./pairwise-verdict.js";
export * from "./position-swap.js";
export * from "./vicuna-scores.js";
