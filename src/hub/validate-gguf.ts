// A downloaded model is checked with camelid's own GGUF reader before it is registered.
import { GgufFormatError } from "../errors/index.js";
import { readGgufHeader } from "../gguf/index.js";

/** The header parses and every tensor's data lies inside the file; throws GgufFormatError naming `name`. */
export async function validateGgufFile(path: string, name: string): Promise<{ tensorCount: number; architecture?: string }> {
  let header;
  try {
    header = await readGgufHeader(path);
  } catch (error) {
    if (error instanceof GgufFormatError) throw new GgufFormatError(error.offset, error.problem, name);
    throw error;
  }
  for (const tensor of header.tensors) {
    if (tensor.fileOffset + tensor.byteLength > header.fileSize) {
      throw new GgufFormatError(header.fileSize, `tensor "${tensor.name}" ends at byte ${tensor.fileOffset + tensor.byteLength}, past the end of the file`, name);
    }
  }
  const architecture = header.metadata.get("general.architecture");
  return { tensorCount: header.tensors.length, ...(architecture?.type === "string" ? { architecture: architecture.value } : {}) };
}
