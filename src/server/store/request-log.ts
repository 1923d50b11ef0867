import type { Visibility } from "../context.js";
import { commitDurability, type CommitDurability } from "./commit-durability.js";
import type { ServerDatabase } from "./database.js";

export interface RequestStart {
  id: string;
  endpoint: string;
  model: string;
  client: string;
  /** The API key whose row this is; null without keys. */
  owner: string | null;
  stream: boolean;
  messages?: unknown;
  parameters: Record<string, unknown>;
}

export interface RequestOutcome {
  status: "completed" | "error" | "aborted";
  httpStatus: number;
  prompt?: string;
  output?: string[];
  finishReasons?: string[];
  promptTokens?: number;
  completionTokens?: number;
  timeToFirstTokenMs?: number;
  totalMs?: number;
  tokensPerSecond?: number;
  error?: string;
  /** The upstream that answered, for a replicated model. */
  replica?: string;
}

export interface RequestLogRow {
  id: string;
  created_at: number;
  completed_at: number | null;
  endpoint: string;
  model: string;
  client: string | null;
  owner: string | null;
  stream: number;
  status: string;
  http_status: number | null;
  prompt: string | null;
  messages: string | null;
  parameters: string;
  output: string | null;
  finish_reasons: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  time_to_first_token_ms: number | null;
  total_ms: number | null;
  tokens_per_second: number | null;
  error: string | null;
  /** The upstream that answered, for a replicated model; null otherwise. */
  replica: string | null;
}

export interface RetentionPolicy {
  /** Rows older than this are deleted; undefined keeps them forever. */
  maxAgeDays?: number;
  /** Only the newest rows are kept; undefined means no limit. */
  maxRows?: number;
}

/**
 * The request log. A row is written when a request starts ("running") and finished when it ends,
 * before the client receives its last byte, so a completed request is on disk when the client
 * learns it completed. Rows still "running" at startup belonged to a killed process.
 */
export class RequestLog {
  private readonly insert;
  private readonly finish;
  private readonly pendingStarts: Record<string, unknown>[] = [];
  private readonly pendingFinishes: { row: Record<string, unknown>; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushScheduled = false;
  /** Where a failed write of "running" rows is reported: nobody waits on those. */
  private onStartsLost: (error: unknown) => void = () => undefined;

  constructor(
    private readonly db: ServerDatabase,
    private readonly now: () => number = Date.now,
    /** How a commit reaches the disk: in WAL mode without an fsync on the event loop (see commit-durability.ts). */
    private readonly durability: CommitDurability = commitDurability(db),
  ) {
    this.insert = db.prepare(
      `INSERT INTO request_log (id, created_at, endpoint, model, client, owner, stream, status, messages, parameters)
       VALUES (@id, @created_at, @endpoint, @model, @client, @owner, @stream, 'running', @messages, @parameters)`,
    );
    this.finish = db.prepare(
      `UPDATE request_log SET completed_at = @completed_at, status = @status, http_status = @http_status,
         prompt = @prompt, output = @output, finish_reasons = @finish_reasons, prompt_tokens = @prompt_tokens,
         completion_tokens = @completion_tokens, time_to_first_token_ms = @time_to_first_token_ms,
         total_ms = @total_ms, tokens_per_second = @tokens_per_second, error = @error, replica = @replica
       WHERE id = @id`,
    );
  }

  /**
   * The "running" row, written with whatever else is pending one tick later, in one transaction, so S
   * requests arriving together cost one commit instead of S; its sync to disk runs off the event loop
   * (commit-durability.ts), nobody waits for it. Reads and finishes write pending rows first.
   */
  start(request: RequestStart): void {
    this.pendingStarts.push({
      id: request.id,
      created_at: this.now(),
      endpoint: request.endpoint,
      model: request.model,
      client: request.client,
      owner: request.owner,
      stream: request.stream ? 1 : 0,
      messages: request.messages === undefined ? null : JSON.stringify(request.messages),
      parameters: JSON.stringify(request.parameters),
    });
    this.scheduleFlush();
  }

  /** Finishes a row now, in its own commit. */
  complete(id: string, outcome: RequestOutcome): void {
    this.flush();
    this.finish.run(this.finishRow(id, outcome));
  }

  /**
   * Finishes a row together with the others finishing in the same tick, in one commit; resolves once it is
   * on disk (so "completed" on the client still means on disk here), rejects when the write or its sync failed.
   */
  completeSoon(id: string, outcome: RequestOutcome): Promise<void> {
    const row = this.finishRow(id, outcome);
    return new Promise((resolve, reject) => {
      this.pendingFinishes.push({ row, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Writes what is pending and waits until it is on disk; the database may be closed after. */
  async close(): Promise<void> {
    this.flush();
    await this.durability.close();
  }

  /** Who hears of "running" rows that could not be written (the generation service, which counts and logs it). */
  reportLostStartsTo(listener: (error: unknown) => void): void {
    this.onStartsLost = listener;
  }

  /** Writes every pending row now, in one transaction; its finishes settle once the commit is on disk. */
  flush(): void {
    this.flushScheduled = false;
    const starts = this.pendingStarts.length;
    const finishes = this.pendingFinishes.splice(0);
    if (starts === 0 && finishes.length === 0) return;
    try {
      this.durability.commit(() => {
        this.writePendingStarts();
        for (const finish of finishes) this.finish.run(finish.row);
      });
    } catch (error) {
      if (starts > 0) this.onStartsLost(error);
      for (const finish of finishes) finish.reject(error);
      return;
    }
    this.durability.persisted().then(
      () => {
        for (const finish of finishes) finish.resolve();
      },
      (error: unknown) => {
        if (starts > 0) this.onStartsLost(error);
        for (const finish of finishes) finish.reject(error);
      },
    );
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      if (this.flushScheduled) this.flush();
    });
  }

  private writePendingStarts(): void {
    for (const row of this.pendingStarts.splice(0)) this.insert.run(row);
  }

  private finishRow(id: string, outcome: RequestOutcome): Record<string, unknown> {
    return {
      id,
      completed_at: this.now(),
      status: outcome.status,
      http_status: outcome.httpStatus,
      prompt: outcome.prompt ?? null,
      output: outcome.output ? JSON.stringify(outcome.output) : null,
      finish_reasons: outcome.finishReasons ? JSON.stringify(outcome.finishReasons) : null,
      prompt_tokens: outcome.promptTokens ?? null,
      completion_tokens: outcome.completionTokens ?? null,
      time_to_first_token_ms: outcome.timeToFirstTokenMs ?? null,
      total_ms: outcome.totalMs ?? null,
      tokens_per_second: outcome.tokensPerSecond ?? null,
      error: outcome.error ?? null,
      replica: outcome.replica ?? null,
    };
  }

  /** A request that failed with an internal error outside generation: one finished row with the stack. */
  recordInternalError(entry: { id: string; endpoint: string; owner: string | null; client: string; error: string }): void {
    this.db.transaction(() => {
      this.start({ id: entry.id, endpoint: entry.endpoint, model: "", client: entry.client, owner: entry.owner, stream: false, parameters: {} });
      this.complete(entry.id, { status: "error", httpStatus: 500, error: entry.error });
    })();
  }

  /** Marks rows left "running" by a previous process as "interrupted"; returns how many. */
  markInterrupted(): number {
    this.flush();
    return this.db.prepare(`UPDATE request_log SET status = 'interrupted' WHERE status = 'running'`).run().changes;
  }

  get(id: string): RequestLogRow | undefined {
    this.flush();
    return this.db.prepare(`SELECT * FROM request_log WHERE id = ?`).get(id) as RequestLogRow | undefined;
  }

  /** The newest rows `visibility` may see (its own key's, or all for an admin key / no keys). */
  recent(limit: number, visibility: Visibility, model?: string): RequestLogRow[] {
    const bounded = Math.max(1, Math.min(1000, Math.floor(limit)));
    this.flush();
    return this.db
      .prepare(
        `SELECT * FROM request_log WHERE (@all = 1 OR owner = @owner) AND (@model IS NULL OR model = @model)
         ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
      )
      .all({ all: visibility.seesAll ? 1 : 0, owner: visibility.owner, model: model ?? null, limit: bounded }) as RequestLogRow[];
  }

  count(): number {
    this.flush();
    return (this.db.prepare(`SELECT count(*) AS n FROM request_log`).get() as { n: number }).n;
  }

  /** Applies the retention policy; returns the number of rows deleted. */
  prune(policy: RetentionPolicy): number {
    this.flush();
    let deleted = 0;
    if (policy.maxAgeDays !== undefined) {
      const cutoff = this.now() - policy.maxAgeDays * 86_400_000;
      deleted += this.db.prepare(`DELETE FROM request_log WHERE created_at < ? AND status != 'running'`).run(cutoff).changes;
    }
    if (policy.maxRows !== undefined) {
      deleted += this.db
        .prepare(
          `DELETE FROM request_log WHERE status != 'running' AND rowid NOT IN
             (SELECT rowid FROM request_log ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
        )
        .run(policy.maxRows).changes;
    }
    return deleted;
  }
}
