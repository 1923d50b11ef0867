/** LLaMA-1/2 SentencePiece BOS/EOS strings: the defaults when the caller does not pass the model's own. */
export const DEFAULT_BOS = "<s>";
export const DEFAULT_EOS = "</s>";

export const CHATML_START = "<|im_start|>";
export const CHATML_END = "<|im_end|>";

export const LLAMA3_BEGIN_OF_TEXT = "<|begin_of_text|>";
export const LLAMA3_END_OF_TEXT = "<|end_of_text|>";
export const LLAMA3_START_HEADER = "<|start_header_id|>";
export const LLAMA3_END_HEADER = "<|end_header_id|>";
export const LLAMA3_END_OF_TURN = "<|eot_id|>";

/**
 * Special-token strings of the families camelid knows, used to mark a Jinja template's output when
 * the caller has no vocabulary list. Only text the template itself emits is ever matched against them.
 */
export const WELL_KNOWN_SPECIAL_TOKENS = [
  DEFAULT_BOS,
  DEFAULT_EOS,
  CHATML_START,
  CHATML_END,
  "<|endoftext|>",
  LLAMA3_BEGIN_OF_TEXT,
  LLAMA3_END_OF_TEXT,
  LLAMA3_START_HEADER,
  LLAMA3_END_HEADER,
  LLAMA3_END_OF_TURN,
  "<|eom_id|>",
  "<|start_of_role|>",
  "<|end_of_role|>",
  "<|end|>",
  "<|user|>",
  "<|assistant|>",
  "<|system|>",
  "<start_of_turn>",
  "<end_of_turn>",
  "<bos>",
  "<eos>",
];

/** End-of-turn markers: when a Jinja template emits one, it becomes a stop string of that format. */
export const WELL_KNOWN_END_OF_TURN_TOKENS = [CHATML_END, LLAMA3_END_OF_TURN, "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>"];
