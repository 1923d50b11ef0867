/**
 * gguf-py's TokenType, stored in tokenizer.ggml.token_type as int32. The numbers are SentencePiece's
 * own piece types (sentencepiece_model.proto SentencePiece.Type), so tokenizer.model types read as is.
 */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
