import { CamelidError } from "../../errors/index.js";

/**
 * A well-formed adapter that cannot become a llama.cpp LoRA GGUF (or PEFT folder) without changing what
 * it computes: DoRA, rsLoRA, modules_to_save, trained biases, targets outside a LLaMA block. `field` is
 * the adapter_config.json key or the tensor name at fault.
 */
export class UnsupportedAdapterError extends CamelidError {
  readonly code = "unsupported_adapter";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** An adapter folder or file that is damaged or does not fit its base model: `path` names the file. */
export class AdapterFormatError extends CamelidError {
  readonly code = "adapter_format";
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
