import { isCamelidError } from "../errors/index.js";
import type { CliIo } from "./io.js";
import { processIo } from "./io.js";

/** Each command lives in its own module, loaded only when used so `camelid inspect` never loads llama.cpp. */
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[], io: CliIo): Promise<number> }> }> = {};

export function registerCommand(
  name: string,
  summary: string,
  load: () => Promise<{ run(argv: string[], io: CliIo): Promise<number> }>,
): void {
  commands[name] = { summary, load };
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: camelid <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun "camelid <command> --help" for a command's options.\n`;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  await import("./commands/index.js");
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout(usage());
    return name ? 0 : 2;
  }
  if (name === "--version") {
    io.stdout("camelid 0.1.0\n");
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`camelid: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  try {
    const module = await command.load();
    return await module.run(rest, io);
  } catch (error) {
    io.stderr(`camelid ${name}: ${describeError(error)}\n`);
    return 1;
  }
}

/** One clear line: typed errors carry their own message; anything else gets its message too, never a stack. */
export function describeError(error: unknown): string {
  if (isCamelidError(error)) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
