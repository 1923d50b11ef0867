// A downloaded model is checked with camelid's own GGUF reader before it is registered.
import { GgufFormatError } from "../errors/index.js";
import { readGgufHeader } from "../gguf/index.js";

/** The header parses and every tensor's data lies inside the file (the reader checks both); errors name `name`. */
export async function validateGgufFile(path: string, name: string): Promise<{ tensorCount: number; architecture?: string }> {
  let header;
  try {
    header = await readGgufHeader(path);
  } catch (error) {
    if (error instanceof GgufFormatError) throw new GgufFormatError(error.offset, error.problem, name);
    throw error;
  }
  const architecture = header.metadata.get("general.architecture");
  return { tensorCount: header.tensors.length, ...(architecture?.type === "string" ? { architecture: architecture.value } : {}) };
}
