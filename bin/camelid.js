#!/usr/bin/env node
// The package ships TypeScript sources; tsx compiles them on the fly so there is no build step to forget.
import { applyUvThreadpoolSize } from "./uv-threadpool.js";

// Before tsx or anything else can queue a job on libuv's thread pool, which fixes its size (uv-threadpool.js).
applyUvThreadpoolSize(process.argv.slice(2), process.env);
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
