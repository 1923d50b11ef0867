export type * from "./messages.js";
export type * from "./prompt.js";
export type * from "./call-options.js";
export type * from "./results.js";
export type * from "./stream-parts.js";
export type * from "./language-model.js";
