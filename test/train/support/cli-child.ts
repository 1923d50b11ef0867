// Runs a camelid command in a child process, as `bin/camelid.js` would. `train` is called directly so
// that this test does not depend on the command table (src/cli/commands/index.ts) registering it; its
// errors are printed the way main() prints them.
import { describeError, main } from "../../../src/cli/main.js";
import { processIo } from "../../../src/cli/io.js";
import { run as train } from "../../../src/cli/commands/train.js";

const [command, ...rest] = process.argv.slice(2);
if (command === "train") {
  try {
    process.exitCode = await train(rest, processIo());
  } catch (error) {
    process.stderr.write(`camelid train: ${describeError(error)}\n`);
    process.exitCode = 1;
  }
} else process.exitCode = await main([command, ...rest]);
