// @ts-check
// Server-sent events from a fetch() body: the `data:` payloads, in order, however the bytes were
// split into chunks (a UTF-8 character or an event may straddle two chunks).

/** Incremental parser: feed decoded text, get back the complete events' data payloads. */
export function createSseParser() {
  let buffer = "";
  return {
    /** @param {string} text @returns {string[]} */
    push(text) {
      buffer += text.replace(/\r\n?/g, "\n");
      const events = [];
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
        if (data.length) events.push(data.join("\n"));
      }
      return events;
    },
  };
}

/**
 * The data payloads of an SSE response body, as they arrive.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<string>}
 */
export async function* readSseData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = createSseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const data of parser.push(decoder.decode(value, { stream: true }))) yield data;
    }
    for (const data of parser.push(decoder.decode() + "\n\n")) yield data;
  } finally {
    // Leaving early (stop button, error) cancels the request so the server frees the model.
    await reader.cancel().catch(() => undefined);
  }
}
