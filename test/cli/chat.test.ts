import { describe, expect, it } from "vitest";
import { chatWithModel } from "../../src/cli/commands/chat.js";
import { captureIo } from "../support/capture-io.js";
import { scriptedModel } from "../support/scripted-model.js";

describe("camelid chat loop (piped input, scripted model)", () => {
  it("keeps multi-turn history and answers each line", async () => {
    const model = scriptedModel();
    const { io, stdout } = captureIo("hello\nhow are you\n/exit\n");
    expect(await chatWithModel(model, io)).toBe(0);
    expect(stdout()).toContain("echo: hello");
    expect(stdout()).toContain("echo: how are you");
    const second = model.calls[1].messages!;
    expect(second.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(second[1].content).toBe("echo: hello");
  });

  it("/system sets a pinned system prompt and clears history; /reset clears history", async () => {
    const model = scriptedModel();
    const { io } = captureIo("first\n/system You are terse.\nsecond\n/reset\nthird\n");
    await chatWithModel(model, io);
    expect(model.calls[1].messages).toEqual([
      { role: "system", content: "You are terse." },
      { role: "user", content: "second" },
    ]);
    expect(model.calls[2].messages).toEqual([
      { role: "system", content: "You are terse." },
      { role: "user", content: "third" },
    ]);
  });

  it("/prompt shows the exact prompt of the last turn, JSON-escaped", async () => {
    const model = scriptedModel();
    const { io, stdout } = captureIo("hi there\n/prompt\n");
    await chatWithModel(model, io);
    expect(stdout()).toContain(JSON.stringify("user: hi there\nassistant:"));
    expect(stdout()).toMatch(/prompt tokens \(\d+\)/);
  });

  it("/format switches the format and rejects unknown names without leaving the chat", async () => {
    const model = scriptedModel();
    const { io, stdout } = captureIo("/format chatml\nhello\n/format nonsense\nagain\n/format\n");
    expect(await chatWithModel(model, io)).toBe(0);
    expect(model.calls[0].promptFormat).toBe("chatml");
    expect(stdout()).toContain('error: unknown prompt format "nonsense"');
    expect(model.calls[1].promptFormat).toBe("chatml");
    expect(stdout()).toMatch(/prompt format: chatml \(explicit/);
  });

  it("ends cleanly at end of input (Ctrl-D)", async () => {
    const model = scriptedModel();
    const { io } = captureIo("hello");
    expect(await chatWithModel(model, io)).toBe(0);
    expect(model.calls).toHaveLength(1);
  });
});
