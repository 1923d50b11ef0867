// GET /api/images/:sha256: a stored image, for the playground's thumbnails after a reload. Images are
// addressed by their content hash, which only someone who had the image (or its log row) knows.
import type { ServerApp, ServerContext } from "../context.js";
import { ResourceNotFoundError } from "../http-errors.js";

export function registerImageRoutes(app: ServerApp, context: ServerContext): void {
  const intake = context.images;
  if (!intake) return;
  app.get("/api/images/:sha256", (c) => {
    const sha256 = c.req.param("sha256");
    const stored = intake.store.get(sha256);
    if (!stored) throw new ResourceNotFoundError("image", `no stored image has the hash "${sha256}"`);
    return c.body(stored.bytes.slice().buffer as ArrayBuffer, 200, {
      "content-type": stored.mimeType,
      "cache-control": "private, max-age=31536000, immutable",
      "x-content-type-options": "nosniff",
    });
  });
}
