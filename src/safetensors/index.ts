// camelid/safetensors: read (by offsets, header validated, sharded checkpoints) and write safetensors files.
export { SafetensorsCheckpoint, SAFETENSORS_INDEX_FILE, type SafetensorsIndex } from "./checkpoint.js";
export {
  decodeFloats,
  encodeFloats,
  FLOAT_DTYPES,
  floatToBfloat16,
  isFloatDtype,
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_BYTES,
  type FloatDtype,
  type SafetensorsDtype,
} from "./dtypes.js";
export { SafetensorsFormatError } from "./errors.js";
export { MAX_SAFETENSORS_HEADER_BYTES, parseSafetensorsHeader, SafetensorsFile, type SafetensorsTensorInfo } from "./reader.js";
export { planSafetensors, writeSafetensors, writeShardedSafetensors, type SafetensorsData, type SafetensorsTensorInput } from "./writer.js";
