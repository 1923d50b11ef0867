// A preference that a 260K-parameter TinyStories model can learn, collected the way users collect it:
// anonymous arena battles on a running `camelid serve`, voted on through its HTTP API. Two scripted
// upstream models answer "Tell me about the <noun>." in two styles (a story opening, "Once upon a time,
// there was a cat.", and a plain line, "There was a cat."); the voter reads only the two anonymous
// answers and always picks the story opening, whichever side it is on.
import { chatCompletionBody, chatCompletionChunks, jsonReply, sseReply, startFakeOpenAIServer, type FakeOpenAIServer } from "../../support/fake-openai-server.js";

/** Words from the TinyStories vocabulary (stories260K's 512-token SentencePiece spells them in a few pieces). */
export const storyNouns = [
  "cat", "dog", "bird", "ball", "tree", "fish", "car", "boy", "girl", "sun", "park", "toy", "cake", "box", "bear", "duck",
  "frog", "hat", "bed", "book", "flower", "house", "moon", "boat", "train", "apple", "bunny", "lion", "horse", "cow", "pig", "kite",
  "doll", "truck", "garden", "river", "star", "shoe", "cup", "bug", "sky", "door", "rock", "mouse", "owl", "sheep", "bike", "leaf",
] as const;

export const storyPrompt = (noun: string) => `Tell me about the ${noun}.`;
const storyOpening = "Once upon a time";
/** What the voter prefers, and what a model that learned the preference answers with. */
export const showsPreferredStyle = (answer: string) => answer.trimStart().startsWith(storyOpening);
const answers: Record<string, (noun: string) => string> = {
  storyteller: (noun) => `${storyOpening}, there was a ${noun}.`,
  plain: (noun) => `There was a ${noun}.`,
};
export const storyModels = Object.keys(answers);

const nounOf = (message: string) => /^Tell me about the (\w+)\.$/.exec(message)?.[1];

/** The OpenAI-compatible upstream both arena models live on: it answers each by its model id. */
export async function startStoryUpstream(): Promise<FakeOpenAIServer> {
  const upstream = await startFakeOpenAIServer();
  upstream.route("POST", "/v1/chat/completions", (request) => {
    const body = request.body as { model: string; messages: { role: string; content: string }[]; stream?: boolean };
    const noun = nounOf(body.messages.filter((m) => m.role === "user").at(-1)?.content ?? "");
    const answer = answers[body.model];
    if (!answer || !noun) return jsonReply({ error: { message: `story upstream: no answer for ${body.model}`, type: "invalid_request_error" } }, 400);
    const text = answer(noun);
    // one piece per word, as a model streams
    const pieces = text.split(/(?<= )/);
    return body.stream ? sseReply(chatCompletionChunks({ pieces, model: body.model })) : jsonReply(chatCompletionBody({ content: text, model: body.model }));
  });
  return upstream;
}

/** The serve config for the two story models on the scripted upstream. */
export const storyRemote = (upstream: FakeOpenAIServer) => ({ name: "story-upstream", baseURL: upstream.baseURL, models: storyModels });

async function call(url: string, method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** The text an arena answer stream delivered (its `delta` events), after checking it finished. */
async function streamedAnswer(response: Response): Promise<string> {
  const events = (await response.text())
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice(6)) as { type: string; text?: string });
  if (events.at(-1)?.type !== "done") throw new Error(`an arena answer did not finish: ${JSON.stringify(events.at(-1))}`);
  return events.map((event) => event.text ?? "").join("");
}

/**
 * One anonymous battle per prompt between the served models `models`: both answers streamed, then a
 * vote for the side whose answer shows the preferred style (a tie when both or neither do). Returns the
 * votes cast per winner.
 */
export async function voteStoryBattles(url: string, prompts: readonly string[], models: readonly string[] = storyModels): Promise<Record<"a" | "b" | "tie", number>> {
  const votes = { a: 0, b: 0, tie: 0 };
  for (const message of prompts) {
    const battle = (await (await call(url, "POST", "/api/arena/battles", { message, models, settings: { temperature: 0, max_tokens: 32 } })).json()) as { id: string };
    const a = await streamedAnswer(await call(url, "POST", `/api/arena/battles/${battle.id}/answers/a`, {}));
    const b = await streamedAnswer(await call(url, "POST", `/api/arena/battles/${battle.id}/answers/b`, {}));
    const winner = showsPreferredStyle(a) === showsPreferredStyle(b) ? "tie" : showsPreferredStyle(a) ? "a" : "b";
    await call(url, "POST", `/api/arena/battles/${battle.id}/vote`, { winner });
    votes[winner]++;
  }
  return votes;
}

/** The arena's DPO export (GET /api/arena/export/preferences.jsonl) as text. */
export async function exportArenaPreferences(url: string): Promise<string> {
  return (await call(url, "GET", "/api/arena/export/preferences.jsonl")).text();
}

/** Splits exported pairs (JSON lines) by prompt: pairs whose prompt is in `heldOut` go to the second file's text. */
export function splitPairsByPrompt(jsonl: string, heldOut: ReadonlySet<string>): { train: string; heldOut: string } {
  const lines = jsonl.split("\n").filter((line) => line.trim() !== "");
  const isHeldOut = (line: string) => heldOut.has((JSON.parse(line) as { prompt: string }).prompt);
  const join = (selected: string[]) => selected.map((line) => `${line}\n`).join("");
  return { train: join(lines.filter((line) => !isHeldOut(line))), heldOut: join(lines.filter(isHeldOut)) };
}
