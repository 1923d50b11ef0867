// The rendered prompt with images as llama-server's /completion takes it.
import { describe, expect, it } from "vitest";
import { imagesOf, multimodalPrompt } from "../../../src/providers/shared/multimodal-prompt.js";
import { MEDIA_MARKER, type ChatImage, type ChatMessage } from "../../../src/spec/messages.js";

const image = (byte: number): ChatImage => ({ sha256: String(byte).repeat(64).slice(0, 64), mimeType: "image/png", bytes: Uint8Array.of(byte, byte), url: "data:," });

describe("multimodal /completion prompt", () => {
  it("swaps camelid's markers for the server's, keeps image order, and leaves a rendered BOS to the server", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: `a${MEDIA_MARKER}b`, parts: [{ type: "text", text: "a" }, { type: "image", image: image(1) }, { type: "text", text: "b" }] },
      { role: "assistant", content: "ok" },
      { role: "user", content: `${MEDIA_MARKER}c`, parts: [{ type: "image", image: image(2) }, { type: "text", text: "c" }] },
    ];
    const images = imagesOf(messages);
    expect(images.map((i) => i.bytes[0])).toEqual([1, 2]);
    const prompt = multimodalPrompt(`<s>USER: a${MEDIA_MARKER}b ASSISTANT: ok USER: ${MEDIA_MARKER}c`, images, "<__media_XYZ__>", "<s>");
    expect(prompt).toEqual({ prompt_string: "USER: a<__media_XYZ__>b ASSISTANT: ok USER: <__media_XYZ__>c", multimodal_data: ["AQE=", "AgI="] });
    expect(() => multimodalPrompt(`one ${MEDIA_MARKER}`, images, "<m>")).toThrow(/1 image marker\(s\) for 2 image\(s\)/);
  });
});
