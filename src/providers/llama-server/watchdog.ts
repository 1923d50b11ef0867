// The parent-death guard between camelid and one llama-server process, run as its own small Node process:
//   node --import tsx watchdog.ts <llama-server> <args...>
// camelid holds the write end of this process's stdin and never writes to it. However camelid ends (a
// clean exit, a crash, `kill -9`), the kernel closes that pipe, stdin reaches end-of-file here, and the
// watchdog ends llama-server (SIGTERM, then SIGKILL after a grace period) and exits. Linux's
// PR_SET_PDEATHSIG would do the same but is not reachable from Node; a process group alone does not
// help when the parent is killed with SIGKILL, since nobody is left to signal the group.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { WATCHDOG_PID_MARKER } from "./watchdog-protocol.js";
/** How long llama-server gets to exit after SIGTERM before it is killed. */
const TERMINATE_GRACE_MS = 5_000;

function main(argv: string[]): void {
  const [binary, ...args] = argv;
  if (!binary) {
    process.stderr.write("camelid-watchdog: usage: watchdog <llama-server> [args...]\n");
    process.exit(2);
  }
  const child = spawn(binary, args, { stdio: ["ignore", "inherit", "inherit"] });
  let ending = false;
  const end = () => {
    if (ending) return;
    ending = true;
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), TERMINATE_GRACE_MS).unref();
  };
  child.once("spawn", () => process.stdout.write(`${WATCHDOG_PID_MARKER}${child.pid}\n`));
  child.once("error", (error) => {
    process.stderr.write(`camelid-watchdog: cannot run ${binary}: ${error.message}\n`);
    process.exit(127);
  });
  // The shell convention: 128 + the signal's number when llama-server was killed by a signal.
  child.once("exit", (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  process.stdin.on("end", end);
  process.stdin.on("close", end);
  process.stdin.on("error", end);
  process.stdin.resume();
  process.on("SIGTERM", end);
  process.on("SIGINT", end);
  process.on("SIGHUP", end);
}

main(process.argv.slice(2));
