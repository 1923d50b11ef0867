// Runs `camelid serve` in a child process exactly as the CLI does (same run(), real process io),
// for tests that must kill it. Used with: node --import tsx test/server/support/serve-child.ts ...
import { run } from "../../../src/cli/commands/serve.js";
import { processIo } from "../../../src/cli/io.js";

process.exitCode = await run(process.argv.slice(2), processIo());
