// Incremental reads of a run's metrics.jsonl for a live view: each call reads only the bytes appended
// since the last one (up to the last complete line), never the whole file again. The cursor names the
// file's identity too: a resumed run replaces the file (MetricsLog.keepThrough writes a new one and
// renames it over the old), and a reader holding the old cursor then starts again from the top.
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { parseMetricLines, type MetricRecord } from "./metrics-log.js";

export interface MetricsCursor {
  /** The file's inode: another inode means the file was replaced. */
  file: number;
  /** Bytes already read: always at a line boundary. */
  offset: number;
}

export interface MetricsTail {
  records: MetricRecord[];
  cursor: MetricsCursor;
  /** True when the records start from the top of a file the cursor did not name (the reader must drop what it holds). */
  reset: boolean;
}

/** At most this many bytes per call, so one request never holds a huge log in memory; the caller asks again. */
const maxBytesPerRead = 4 * 1024 * 1024;

export function readMetricsAfter(path: string, cursor: MetricsCursor | undefined): MetricsTail {
  if (!existsSync(path)) return { records: [], cursor: { file: 0, offset: 0 }, reset: cursor !== undefined && cursor.offset > 0 };
  const fd = openSync(path, "r");
  try {
    const stat = fstatSync(fd);
    const sameFile = cursor !== undefined && cursor.file === stat.ino && cursor.offset <= stat.size;
    const start = sameFile ? cursor.offset : 0;
    const length = Math.min(stat.size - start, maxBytesPerRead);
    const buffer = Buffer.alloc(Math.max(length, 0));
    let read = 0;
    while (read < length) {
      const got = readSync(fd, buffer, read, length - read, start + read);
      if (got === 0) break;
      read += got;
    }
    // Only whole lines: a line being appended right now is read by the next call.
    const end = buffer.subarray(0, read).lastIndexOf(0x0a) + 1;
    const records = parseMetricLines(buffer.subarray(0, end).toString("utf8"));
    return { records, cursor: { file: stat.ino, offset: start + end }, reset: cursor !== undefined && !sameFile };
  } finally {
    closeSync(fd);
  }
}
