/**
 * Schema history; entry i brings the database to user_version i+1. Never edit a shipped entry:
 * append a new one. Times are epoch milliseconds; JSON columns hold what their name says.
 */
export const migrations: string[] = [
  `
  CREATE TABLE request_log (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    completed_at INTEGER,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    client TEXT,                       -- an API key's name or the peer address, never a key
    stream INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'error', 'aborted', 'interrupted')),
    http_status INTEGER,
    prompt TEXT,                       -- the exact rendered prompt, when the backend reports it
    messages TEXT,                     -- JSON: the chat messages as received
    parameters TEXT NOT NULL,          -- JSON: sampling parameters as received
    output TEXT,                       -- JSON: one string per choice
    finish_reasons TEXT,               -- JSON: one reason per choice
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    time_to_first_token_ms REAL,
    total_ms REAL,
    tokens_per_second REAL,
    error TEXT
  );
  CREATE INDEX request_log_by_created_at ON request_log (created_at);

  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    model TEXT,
    system_prompt TEXT,
    settings TEXT NOT NULL DEFAULT '{}', -- JSON: sampling settings the playground keeps per conversation
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX conversations_by_updated_at ON conversations (updated_at);

  CREATE TABLE conversation_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    model TEXT,                          -- which model wrote an assistant message
    request_id TEXT,                     -- the request_log row that produced it, if any
    created_at INTEGER NOT NULL
  );
  CREATE INDEX conversation_messages_by_conversation ON conversation_messages (conversation_id, id);
  `,
];
