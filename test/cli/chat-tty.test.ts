import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, stories260KPath } from "../support/shared-data.js";
import { waitFor, waitUntil } from "../support/wait-for.js";

// Drives `camelid chat` in a real pseudo-terminal with tmux, typing as a user would.
const session = `camelid-chat-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
/** The pane's whole history (`-S -`), not only what is visible: long output scrolls earlier lines off the screen. */
const history = () => tmux("capture-pane", "-p", "-J", "-S", "-", "-t", session);
/** One `> ` line per prompt the chat has shown, the one waiting for input included. */
const countPrompts = (text: string) => text.split("\n").filter((line) => line.startsWith("> ")).length;
const sessionAlive = () => {
  try {
    tmux("has-session", "-t", session);
    return true;
  } catch {
    return false;
  }
};

const waitForScreen = (accept: (text: string) => boolean, what: string) => waitFor(history, accept, { what, intervalMs: 100 });

/**
 * Type a line and wait until the chat has answered it: the chat prints its next `> ` prompt only after
 * the reply (or the command's output) is complete, so a new prompt line is the marker, however long the
 * output and however slow the machine. Returns the whole history at that point.
 */
async function typeLine(line: string): Promise<string> {
  const before = countPrompts(await waitForScreen((text) => text.endsWith("> ") || /\n> *\n*$/.test(text), "the chat to wait for input"));
  tmux("send-keys", "-t", session, line, "Enter");
  return waitForScreen((text) => countPrompts(text) > before, `the answer to ${JSON.stringify(line)}`);
}

describe("camelid chat in a terminal (tmux)", () => {
  beforeAll(() => {
    const command = [
      "node", "bin/camelid.js", "chat", "--model", stories260KPath(), "--format", "vicuna-v1.1",
      "--temperature", "0", "--max-tokens", "24",
    ].map((part) => `'${part}'`).join(" ");
    tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", "-c", repoRoot, command);
  });
  afterAll(() => {
    // already gone when the test typed /exit
    if (sessionAlive()) tmux("kill-session", "-t", session);
  });

  it("streams replies, shows the exact prompt, switches format, resets and exits", async () => {
    await waitForScreen((text) => text.includes("prompt format: vicuna-v1.1 (explicit"), "the banner");
    let text = await typeLine("Tell me a story");
    expect(text).toMatch(/> Tell me a story\n.+/);

    text = await typeLine("/prompt");
    expect(text).toContain("--- prompt tokens");
    expect(text).toContain(JSON.stringify("A chat between a curious user and an artificial intelligence assistant.").slice(0, 40));
    expect(text).toContain("USER: Tell me a story ASSISTANT:");

    expect(await typeLine("/format chatml")).toContain("(prompt format: chatml)");
    expect(await typeLine("/reset")).toContain("(conversation cleared)");
    text = await typeLine("Hi");
    expect(text).toMatch(/> Hi\n.+/);
    text = await typeLine("/prompt");
    expect(text).toContain("<|im_start|>user\\nHi<|im_end|>");
    expect(text).not.toContain("USER: Tell me a story ASSISTANT:</s>USER: Hi");

    tmux("send-keys", "-t", session, "/exit", "Enter");
    await waitUntil(() => !sessionAlive(), { what: "the chat to exit and its tmux session to end" });
  }, 180_000);
});
