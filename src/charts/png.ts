// The one place that touches the native SVG rasterizer (@resvg/resvg-js ships prebuilt binaries in its
// npm packages). Loaded lazily so commands that only write SVG never load it.
import { CamelidError } from "../errors/index.js";

export class ChartRenderError extends CamelidError {
  readonly code = "chart_render";
}

/** Rasterize an SVG document to PNG bytes; text uses the system's fonts (DejaVu or similar). */
export async function svgToPng(svg: string, options: { width?: number; background?: string } = {}): Promise<Uint8Array> {
  let Resvg: typeof import("@resvg/resvg-js").Resvg;
  try {
    ({ Resvg } = await import("@resvg/resvg-js"));
  } catch (error) {
    throw new ChartRenderError(`PNG output needs @resvg/resvg-js, which failed to load: ${(error as Error).message}`, { cause: error });
  }
  try {
    const renderer = new Resvg(svg, {
      background: options.background ?? "white",
      fitTo: options.width ? { mode: "width", value: options.width } : { mode: "original" },
      font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
    });
    return renderer.render().asPng();
  } catch (error) {
    throw new ChartRenderError(`cannot render the chart to PNG: ${(error as Error).message}`, { cause: error });
  }
}
