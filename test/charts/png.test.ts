import { describe, expect, it } from "vitest";
import { ChartRenderError, svgToPng } from "../../src/charts/png.js";

const pngSize = (png: Uint8Array) => {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
};

describe("svgToPng", () => {
  it("rasterizes an SVG with text to a PNG of the SVG's size", async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect x="0" y="0" width="60" height="40" fill="#c00"/><text x="64" y="25" font-size="14">Elo</text></svg>`;
    const png = await svgToPng(svg);
    expect([...png.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(pngSize(png)).toEqual({ width: 120, height: 40 });
  });

  it("scales to a requested width", async () => {
    const png = await svgToPng(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"></svg>`, { width: 300 });
    expect(pngSize(png)).toEqual({ width: 300, height: 150 });
  });

  it("rejects a malformed SVG with a typed error", async () => {
    await expect(svgToPng("<svg")).rejects.toBeInstanceOf(ChartRenderError);
  });
});
