/** A row-major [rows, cols] matrix as row-major [cols, rows] (an embedding's lora_A is stored transposed in GGUF). */
export function transposeMatrix(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}
