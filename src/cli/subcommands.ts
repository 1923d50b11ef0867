import { InvalidArgumentError } from "../errors/index.js";
import type { CliIo } from "./io.js";

export type SubcommandHandler = (argv: string[], io: CliIo) => Promise<number>;

/**
 * `camelid <command> <subcommand> [options]`: the command's help with no subcommand (exit 2, or 0 when
 * asked for), a subcommand's own help for --help/-h, and one clear error naming the known subcommands.
 */
export async function runSubcommand(
  command: string,
  argv: string[],
  io: CliIo,
  table: { help: string; helps: Record<string, string>; handlers: Record<string, SubcommandHandler> },
): Promise<number> {
  const [subcommand, ...rest] = argv;
  if (!subcommand || subcommand === "--help" || subcommand === "-h") {
    io.stdout(table.help);
    return subcommand ? 0 : 2;
  }
  const handler = Object.hasOwn(table.handlers, subcommand) ? table.handlers[subcommand] : undefined;
  if (!handler) {
    throw new InvalidArgumentError("subcommand", `unknown ${command} subcommand "${subcommand}"; one of ${Object.keys(table.handlers).join(", ")}`);
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(table.helps[subcommand] ?? table.help);
    return 0;
  }
  return handler(rest, io);
}
