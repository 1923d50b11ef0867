#!/usr/bin/env node
// The package ships TypeScript sources; tsx compiles them on the fly so there is no build step to forget.
import { followParent, needsRelaunch, relaunchWithThreadpoolSize } from "./uv-threadpool.js";

const argv = process.argv.slice(2);
if (needsRelaunch(argv, process.env)) {
  // libuv's pool already has its size (uv-threadpool.js): camelid runs in a child that starts with the one asked for.
  process.exitCode = await relaunchWithThreadpoolSize(argv);
} else {
  followParent();
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(argv);
}
