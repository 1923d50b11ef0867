// A Hugging Face checkpoint's weights: one model.safetensors or shards listed by
// model.safetensors.index.json. Files are found and ordered as llama.cpp's convert_hf_to_gguf.py does
// (index_tensors: the index's files sorted, else every model*.safetensors sorted), and the index is
// checked against what the shards really hold.
import { access, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { SafetensorsFormatError } from "./errors.js";
import { SafetensorsFile, type SafetensorsTensorInfo } from "./reader.js";

export const SAFETENSORS_INDEX_FILE = "model.safetensors.index.json";

const indexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string().min(1)),
});

export type SafetensorsIndex = z.infer<typeof indexSchema>;

async function readIndex(path: string): Promise<SafetensorsIndex | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsFormatError(path, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const result = indexSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SafetensorsFormatError(path, `${issue.path.join(".") || "index"}: ${issue.message}`);
  }
  return result.data;
}

export class SafetensorsCheckpoint {
  private readonly byName: Map<string, { file: SafetensorsFile; info: SafetensorsTensorInfo }>;

  private constructor(
    readonly folder: string,
    readonly files: readonly SafetensorsFile[],
  ) {
    this.byName = new Map(files.flatMap((file) => file.tensors.map((info) => [info.name, { file, info }] as const)));
  }

  /** Opens every weight file of `folder` and checks the index (if any) against them. */
  static async open(folder: string): Promise<SafetensorsCheckpoint> {
    const indexPath = join(folder, SAFETENSORS_INDEX_FILE);
    const index = await readIndex(indexPath);
    let fileNames: string[];
    if (index) {
      fileNames = [...new Set(Object.values(index.weight_map))].sort();
      for (const name of fileNames) {
        if (name.includes("/") || name.includes("\\") || name === "..") throw new SafetensorsFormatError(indexPath, `weight_map names "${name}", which is not a file of this folder`);
      }
    } else {
      const entries = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
        throw new SafetensorsFormatError(folder, `cannot list the folder (${error.code ?? error.message})`, { cause: error });
      });
      fileNames = entries.filter((name) => name.startsWith("model") && name.endsWith(".safetensors")).sort();
      if (fileNames.length === 0) throw new SafetensorsFormatError(folder, "no model*.safetensors weight files in the folder");
    }
    const files: SafetensorsFile[] = [];
    try {
      for (const name of fileNames) {
        const path = join(folder, name);
        if (index && !(await access(path).then(() => true, () => false))) {
          throw new SafetensorsFormatError(indexPath, `weight_map names ${name}, which is not in the folder (a missing shard)`);
        }
        files.push(await SafetensorsFile.open(path));
      }
      if (index) checkIndex(indexPath, index, files, fileNames);
      const seen = new Map<string, string>();
      for (const file of files) {
        for (const tensor of file.tensors) {
          const other = seen.get(tensor.name);
          if (other) throw new SafetensorsFormatError(file.path, `tensor "${tensor.name}" is also in ${other}`);
          seen.set(tensor.name, file.path);
        }
      }
    } catch (error) {
      await Promise.all(files.map((file) => file.close()));
      throw error;
    }
    return new SafetensorsCheckpoint(folder, files);
  }

  /** Every tensor in llama.cpp's order: files in sorted order, names sorted within each file. */
  get tensors(): SafetensorsTensorInfo[] {
    return this.files.flatMap((file) => file.tensors);
  }

  tensor(name: string): SafetensorsTensorInfo | undefined {
    return this.byName.get(name)?.info;
  }

  private entry(name: string): { file: SafetensorsFile; info: SafetensorsTensorInfo } {
    const entry = this.byName.get(name);
    if (!entry) throw new SafetensorsFormatError(this.folder, `no tensor named "${name}"`);
    return entry;
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.entry(name).file.readBytes(name);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.entry(name).file.readFloat32(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }
}

function checkIndex(indexPath: string, index: SafetensorsIndex, files: SafetensorsFile[], fileNames: string[]): void {
  const inFiles = new Map<string, string>();
  files.forEach((file, i) => file.tensors.forEach((tensor) => inFiles.set(tensor.name, fileNames[i])));
  for (const [tensor, fileName] of Object.entries(index.weight_map)) {
    const actual = inFiles.get(tensor);
    if (actual === undefined) throw new SafetensorsFormatError(indexPath, `tensor "${tensor}" is mapped to ${fileName}, which does not hold it (a missing or incomplete shard?)`);
    if (actual !== fileName) throw new SafetensorsFormatError(indexPath, `tensor "${tensor}" is mapped to ${fileName} but is in ${actual}`);
  }
  for (const [tensor, fileName] of inFiles) {
    if (!Object.hasOwn(index.weight_map, tensor)) throw new SafetensorsFormatError(indexPath, `tensor "${tensor}" in ${fileName} is not in the weight_map`);
  }
}
