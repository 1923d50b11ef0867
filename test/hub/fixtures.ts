// Small GGUF files made with camelid's own writer, distinct per name so each has its own sha256.
import { serializeGguf } from "../../src/gguf/index.js";

export async function tinyGguf(name: string, floats = 4096): Promise<Uint8Array> {
  const data = new Float32Array(floats);
  for (let index = 0; index < floats; index++) data[index] = (index % 97) / 97 + name.length;
  return serializeGguf({
    metadata: [
      ["general.architecture", { type: "string", value: "llama" }],
      ["general.name", { type: "string", value: name }],
    ],
    tensors: [{ name: "token_embd.weight", dims: [floats], type: "F32", data }],
  });
}

export const COMMIT = "0123456789abcdef0123456789abcdef01234567";

/** The sleep tests inject: records what was asked, waits one turn of the event loop, never the clock. */
export function recordingSleep() {
  const delays: number[] = [];
  const sleep = async (ms: number) => {
    delays.push(ms);
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  return { delays, sleep };
}
