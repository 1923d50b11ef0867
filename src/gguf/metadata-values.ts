// Reading typed metadata as plain JS values, for summaries and JSON.
import type { GgufArray, GgufMetadata, GgufValue } from "./types.js";

export type PlainGgufValue = number | string | boolean | PlainGgufValue[];

/** Plain JS for a value: 64-bit integers become numbers when exact, else decimal strings. */
export function plainValue(value: GgufValue): PlainGgufValue {
  if (value.type === "array") return plainArray(value.value);
  if (typeof value.value === "bigint") return bigintToPlain(value.value);
  return value.value;
}

function bigintToPlain(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

export function plainArray(array: GgufArray): PlainGgufValue[] {
  switch (array.elementType) {
    case "uint64":
    case "int64":
      return Array.from(array.values, bigintToPlain);
    case "array":
      return array.values.map(plainArray);
    case "bool":
    case "string":
      return [...array.values];
    default:
      return Array.from(array.values);
  }
}

/** A numeric scalar (any integer or float type) as a number, or undefined. */
export function metadataNumber(metadata: GgufMetadata, key: string): number | undefined {
  const value = metadata.get(key);
  if (!value) return undefined;
  if (typeof value.value === "number") return value.value;
  if (typeof value.value === "bigint") return Number(value.value);
  return undefined;
}

export function metadataString(metadata: GgufMetadata, key: string): string | undefined {
  const value = metadata.get(key);
  return value?.type === "string" ? value.value : undefined;
}

export function metadataBoolean(metadata: GgufMetadata, key: string): boolean | undefined {
  const value = metadata.get(key);
  return value?.type === "bool" ? value.value : undefined;
}

/** A scalar, or the first element of a per-layer numeric array (some models store head counts per layer). */
export function metadataNumberOrFirst(metadata: GgufMetadata, key: string): number | undefined {
  const value = metadata.get(key);
  if (value?.type === "array" && value.value.elementType !== "string" && value.value.elementType !== "bool" && value.value.elementType !== "array") {
    const first = value.value.values[0];
    return first === undefined ? undefined : Number(first);
  }
  return metadataNumber(metadata, key);
}

export function metadataArrayLength(metadata: GgufMetadata, key: string): number | undefined {
  const value = metadata.get(key);
  return value?.type === "array" ? value.value.values.length : undefined;
}
