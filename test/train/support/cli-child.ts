// Runs a camelid command in a child process, as `bin/camelid.js` would. `train` is called directly so
// that this test does not depend on the command table (src/cli/commands/index.ts) registering it.
import { main } from "../../../src/cli/main.js";
import { processIo } from "../../../src/cli/io.js";
import { run as train } from "../../../src/cli/commands/train.js";

const [command, ...rest] = process.argv.slice(2);
process.exitCode = command === "train" ? await train(rest, processIo()) : await main([command, ...rest]);
