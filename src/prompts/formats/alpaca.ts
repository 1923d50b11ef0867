import { PromptFormatError } from "../../errors/index.js";
import type { ChatMessage } from "../../spec/messages.js";
import { parseConversation, wantsGenerationPrompt } from "../conversation.js";
import { SegmentBuilder } from "../segments.js";
import type { PromptFormat, RenderOptions, RenderedFormat } from "../types.js";
import { DEFAULT_EOS } from "./tokens.js";

/** Stanford Alpaca train.py PROMPT_DICT, byte for byte. */
export const ALPACA_PREAMBLE_NO_INPUT =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.";
export const ALPACA_PREAMBLE_WITH_INPUT =
  "Below is an instruction that describes a task, paired with an input that provides further context. " +
  "Write a response that appropriately completes the request.";

const INSTRUCTION_HEADER = "### Instruction:\n";
const INPUT_HEADER = "\n\n### Input:\n";
const RESPONSE_HEADER = "\n\n### Response:";
const REFERENCE = 'Stanford Alpaca train.py, PROMPT_DICT "prompt_input"/"prompt_no_input"; target = output + eos_token';
const STOP_STRINGS = ["###"];

/** One Alpaca record: the "with input" template is used when `input` is non-empty, as train.py does. */
export interface AlpacaExample {
  instruction: string;
  input?: string;
  /** The response; when given it is appended with the EOS token, exactly like train.py's target. */
  output?: string;
}

/**
 * Renders one Alpaca record with the template Stanford trained on. The response starts right after
 * "### Response:" with no newline, because train.py concatenates source and target directly.
 */
export function renderAlpacaExample(example: AlpacaExample, options: RenderOptions = {}): RenderedFormat {
  if (typeof example?.instruction !== "string") throw new PromptFormatError("alpaca: the example needs an instruction string");
  const eos = options.eosToken ?? DEFAULT_EOS;
  const out = new SegmentBuilder();
  const user = { messageIndex: 0, role: "user" as const };
  const hasInput = typeof example.input === "string" && example.input !== "";
  out.text(hasInput ? ALPACA_PREAMBLE_WITH_INPUT : ALPACA_PREAMBLE_NO_INPUT);
  out.text("\n\n");
  out.text(INSTRUCTION_HEADER, user).text(example.instruction, user);
  if (hasInput) out.text(INPUT_HEADER, user).text(example.input ?? "", user);
  out.text(RESPONSE_HEADER, { role: "assistant" });
  if (example.output !== undefined) {
    const assistant = { messageIndex: 1, role: "assistant" as const, trainable: true };
    out.text(example.output, assistant).special(eos, assistant);
  }
  return out.build([...STOP_STRINGS, eos], options.bosToken);
}

/**
 * Alpaca for chat messages. A single user turn renders exactly as Stanford's no-input template. A
 * system message replaces the preamble (as FastChat's "alpaca" template does). Alpaca was trained on
 * single turns only, so multi-turn history is camelid's documented extension: every earlier exchange
 * is an Instruction/Response pair whose reply ends with EOS, pairs joined by a blank line, preamble once.
 */
export const alpacaFormat: PromptFormat = {
  name: "alpaca",
  description: 'Stanford Alpaca instruction format: "### Instruction:" / "### Response:" (see renderAlpacaExample for "### Input:")',
  reference: REFERENCE,
  supportsSystem: true,
  stops: [...STOP_STRINGS, DEFAULT_EOS],
  render(messages: ChatMessage[], options: RenderOptions = {}): RenderedFormat {
    const conversation = parseConversation(messages, "alpaca");
    const generationPrompt = wantsGenerationPrompt(conversation, options.addGenerationPrompt, "alpaca");
    const eos = options.eosToken ?? DEFAULT_EOS;
    const out = new SegmentBuilder();
    if (conversation.system) out.text(conversation.system.content, { messageIndex: conversation.system.index, role: "system" });
    else out.text(ALPACA_PREAMBLE_NO_INPUT);
    out.text("\n\n");
    conversation.turns.forEach((turn, turnIndex) => {
      const user = { messageIndex: turn.userIndex, role: "user" as const };
      if (turnIndex > 0) out.text("\n\n");
      out.text(INSTRUCTION_HEADER, user).text(turn.user, user);
      if (turn.assistant === undefined || turn.assistantIndex === undefined) {
        if (generationPrompt) out.text(RESPONSE_HEADER, { role: "assistant" });
        else out.text("\n\n", user);
        return;
      }
      const assistant = { messageIndex: turn.assistantIndex, role: "assistant" as const };
      out.text(RESPONSE_HEADER, assistant);
      out.text(turn.assistant, { ...assistant, trainable: true }).special(eos, { ...assistant, trainable: true });
    });
    return out.build([...STOP_STRINGS, eos], options.bosToken);
  },
};
