import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, stories260KPath } from "../support/shared-data.js";

// Drives `camelid chat` in a real pseudo-terminal with tmux, typing as a user would.
const session = `camelid-chat-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session);

async function waitFor(predicate: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    text = screen();
    if (predicate(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${text}`);
}

const countPrompts = (text: string) => text.split("\n").filter((line) => line.startsWith("> ")).length;

describe("camelid chat in a terminal (tmux)", () => {
  beforeAll(() => {
    const command = [
      "node", "bin/camelid.js", "chat", "--model", stories260KPath(), "--format", "vicuna-v1.1",
      "--temperature", "0", "--max-tokens", "24",
    ].map((part) => `'${part}'`).join(" ");
    tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", "-c", repoRoot, command);
  });
  afterAll(() => {
    try {
      tmux("kill-session", "-t", session);
    } catch {
      // already gone: the test typed /exit
    }
  });

  it("streams replies, shows the exact prompt, switches format, resets and exits", async () => {
    await waitFor((text) => text.includes("prompt format: vicuna-v1.1 (explicit"), "the banner");
    tmux("send-keys", "-t", session, "Tell me a story", "Enter");
    let text = await waitFor((t) => countPrompts(t) >= 2, "the first reply");
    expect(text).toMatch(/> Tell me a story\n.+/);

    tmux("send-keys", "-t", session, "/prompt", "Enter");
    text = await waitFor((t) => t.includes("--- prompt tokens"), "the /prompt output");
    expect(text).toContain(JSON.stringify("A chat between a curious user and an artificial intelligence assistant.").slice(0, 40));
    expect(text).toContain("USER: Tell me a story ASSISTANT:");

    tmux("send-keys", "-t", session, "/format chatml", "Enter");
    await waitFor((t) => t.includes("(prompt format: chatml)"), "the format switch");
    tmux("send-keys", "-t", session, "/reset", "Enter");
    await waitFor((t) => t.includes("(conversation cleared)"), "the reset");
    tmux("send-keys", "-t", session, "Hi", "Enter");
    const before = countPrompts(screen());
    await waitFor((t) => countPrompts(t) > before, "the chatml reply");
    tmux("send-keys", "-t", session, "/prompt", "Enter");
    text = await waitFor((t) => t.includes("<|im_start|>user\\nHi<|im_end|>"), "the chatml prompt");
    expect(text).not.toContain("USER: Tell me a story ASSISTANT:</s>USER: Hi");

    tmux("send-keys", "-t", session, "/exit", "Enter");
    const deadline = Date.now() + 10_000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      try {
        tmux("has-session", "-t", session);
        await new Promise((resolve) => setTimeout(resolve, 100));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  }, 90_000);
});
