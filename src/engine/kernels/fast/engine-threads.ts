import { availableParallelism } from "node:os";
import { threadsAvailable } from "./parallel-matmul.js";

/** Two threads unless CAMELID_ENGINE_THREADS=1, the machine has one core, or shared memory is missing. */
export function engineThreads(): number {
  return process.env.CAMELID_ENGINE_THREADS !== "1" && availableParallelism() >= 2 && threadsAvailable() ? 2 : 1;
}
