/** The request fields the log keeps as "parameters": everything but the (separately kept) input. */
export function loggedParameters(body: Record<string, unknown>): Record<string, unknown> {
  const { messages: _messages, prompt: _prompt, ...rest } = body;
  return rest;
}
