import type { MessagePort } from "node:worker_threads";

/**
 * SharedArrayBuffers posted to a helper thread, each once, and named in jobs by a small id. Held
 * weakly here: once this thread drops a buffer (the model reallocated for a new batch shape), the
 * helper is told to forget it ({ forget: id }), so its memory can go. The helper drains its port
 * ({ id, buffer } messages) before each job.
 */
export class PostedBuffers {
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private readonly posted = new Map<number, WeakRef<SharedArrayBuffer>>();
  private nextId = 1;

  constructor(private readonly port: MessagePort) {}

  /** The helper's id for a buffer, posting it first if needed. */
  idOf(buffer: SharedArrayBuffer): number {
    const known = this.ids.get(buffer);
    if (known !== undefined) return known;
    for (const [oldId, ref] of this.posted) {
      if (ref.deref() !== undefined) continue;
      this.posted.delete(oldId);
      this.port.postMessage({ forget: oldId });
    }
    const id = this.nextId++;
    this.port.postMessage({ id, buffer });
    this.ids.set(buffer, id);
    this.posted.set(id, new WeakRef(buffer));
    return id;
  }
}
