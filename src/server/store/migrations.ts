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
  // 2: the playground arena. A battle owns its hidden model names; a vote row exists only for a
  // battle voted on while its names were still hidden (the routes enforce that).
  `
  CREATE TABLE arena_battles (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,              -- who started it (API key name or peer address): owner and vote cap
    model_a TEXT NOT NULL,             -- the model shown at position A
    model_b TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}', -- JSON: system prompt and sampling settings for both sides
    revealed_before_vote INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX arena_battles_by_created_at ON arena_battles (created_at);

  CREATE TABLE arena_turns (
    battle_id TEXT NOT NULL REFERENCES arena_battles (id) ON DELETE CASCADE,
    turn INTEGER NOT NULL,
    user_message TEXT NOT NULL,
    answer_a TEXT NOT NULL DEFAULT '',
    status_a TEXT NOT NULL DEFAULT 'pending' CHECK (status_a IN ('pending', 'done', 'failed')),
    finish_a TEXT,
    answer_b TEXT NOT NULL DEFAULT '',
    status_b TEXT NOT NULL DEFAULT 'pending' CHECK (status_b IN ('pending', 'done', 'failed')),
    finish_b TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (battle_id, turn)
  );

  CREATE TABLE arena_votes (
    battle_id TEXT PRIMARY KEY REFERENCES arena_battles (id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    winner TEXT NOT NULL CHECK (winner IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')),
    created_at INTEGER NOT NULL
  );
  CREATE INDEX arena_votes_by_client ON arena_votes (client, created_at);
  CREATE INDEX arena_votes_by_created_at ON arena_votes (created_at);
  `,
  // 3: per-key isolation. A row belongs to the API key that created it; rows from before this
  // migration (or from a server without keys) have no owner and are visible to admin keys only
  // once keys are configured.
  `
  ALTER TABLE conversations ADD COLUMN owner TEXT;   -- API key name; NULL: no keys, or older than owners
  CREATE INDEX conversations_by_owner ON conversations (owner, updated_at);
  ALTER TABLE request_log ADD COLUMN owner TEXT;     -- API key name; NULL: no keys, or older than owners
  CREATE INDEX request_log_by_owner ON request_log (owner, created_at);
  `,
  // 4: a reply's state. The server writes the user's turn and an empty "streaming" answer when a
  // playground reply starts and the answer's text when the stream ends, so a reload mid-stream or a
  // disconnect keeps both; "interrupted" marks an answer cut short (client gone, Stop, restart).
  `
  ALTER TABLE conversation_messages ADD COLUMN status TEXT NOT NULL DEFAULT 'done'
    CHECK (status IN ('streaming', 'done', 'interrupted', 'failed'));
  ALTER TABLE conversation_messages ADD COLUMN finish_reason TEXT;
  `,
  // 5 (leaderboard): a battle's optional category, set by whoever starts it, for per-category
  // leaderboards; each answer's completion tokens, the length covariate of style-controlled ratings.
  `
  ALTER TABLE arena_battles ADD COLUMN category TEXT;  -- NULL: no category
  ALTER TABLE arena_turns ADD COLUMN tokens_a INTEGER; -- NULL: unknown (stopped, failed, older)
  ALTER TABLE arena_turns ADD COLUMN tokens_b INTEGER;
  `,
  // 6: Arena (side by side) and Collaborate sessions, saved by the playground so a reload or another
  // visit reopens them. `state` is the kind's JSON document, validated by the routes' schema for it.
  `
  CREATE TABLE playground_sessions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('arena', 'collaborate')),
    owner TEXT,                        -- API key name; NULL: no keys
    title TEXT NOT NULL,
    models TEXT NOT NULL DEFAULT '[]', -- JSON: the models the session involves, for the list
    state TEXT NOT NULL DEFAULT '{}',  -- JSON: settings, turns or runs and their answers
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX playground_sessions_by_kind ON playground_sessions (kind, owner, updated_at);
  `,
  // 7: per-message actions (regenerate, edit, delete). A conversation is a tree: each message points
  // at the one it answers or follows (NULL: a first message), siblings are alternatives (a
  // regenerated answer, an edited user turn), and the conversation remembers the leaf of the branch on
  // screen. Linear conversations become a single branch: each message's parent is the one before it.
  // A battle keeps every answer a side gave to a turn (version 0 first, then each regeneration);
  // arena_turns holds the version shown, and a vote records the versions it compared.
  `
  ALTER TABLE conversation_messages ADD COLUMN parent_id INTEGER REFERENCES conversation_messages (id) ON DELETE CASCADE;
  ALTER TABLE conversations ADD COLUMN active_leaf_id INTEGER; -- the branch on screen (and exported); NULL: empty
  UPDATE conversation_messages SET parent_id = (
    SELECT MAX(earlier.id) FROM conversation_messages earlier
    WHERE earlier.conversation_id = conversation_messages.conversation_id AND earlier.id < conversation_messages.id
  );
  UPDATE conversations SET active_leaf_id = (SELECT MAX(id) FROM conversation_messages m WHERE m.conversation_id = conversations.id);
  CREATE INDEX conversation_messages_by_parent ON conversation_messages (parent_id);

  CREATE TABLE arena_answer_versions (
    battle_id TEXT NOT NULL REFERENCES arena_battles (id) ON DELETE CASCADE,
    turn INTEGER NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('a', 'b')),
    version INTEGER NOT NULL,          -- 0: the first answer; 1, 2, ...: regenerations
    text TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    finish_reason TEXT,
    tokens INTEGER,                    -- completion tokens as reported; NULL: unknown
    attempts INTEGER NOT NULL DEFAULT 0, -- requests made for it (a failed answer is retried): each gets its own request-log id
    created_at INTEGER NOT NULL,
    PRIMARY KEY (battle_id, turn, side, version)
  );
  INSERT INTO arena_answer_versions (battle_id, turn, side, version, text, status, finish_reason, tokens, created_at)
    SELECT battle_id, turn, 'a', 0, answer_a, status_a, finish_a, tokens_a, created_at FROM arena_turns;
  INSERT INTO arena_answer_versions (battle_id, turn, side, version, text, status, finish_reason, tokens, created_at)
    SELECT battle_id, turn, 'b', 0, answer_b, status_b, finish_b, tokens_b, created_at FROM arena_turns;
  -- An older answer that reached the request log already used its attempt's id.
  UPDATE arena_answer_versions SET attempts = 1
    WHERE EXISTS (SELECT 1 FROM request_log r WHERE r.id = 'arena-' || battle_id || '-' || turn || '-' || side);
  ALTER TABLE arena_turns ADD COLUMN version_a INTEGER NOT NULL DEFAULT 0; -- the version answer_a holds
  ALTER TABLE arena_turns ADD COLUMN version_b INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE arena_votes ADD COLUMN compared TEXT; -- JSON [{turn, a, b}]: the versions on screen at the vote; NULL: before versions (all 0)
  `,
  // 8: the replica (upstream) that answered a replicated model's request (NULL: not replicated, or none answered).
  `ALTER TABLE request_log ADD COLUMN replica TEXT;`,
  // A user turn's images, by reference (the bytes live once in <data dir>/images): the playground
  // shows their thumbnails after a reload and sends them again with the branch.
  `
  ALTER TABLE conversation_messages ADD COLUMN images TEXT; -- JSON [{sha256, mime_type, size}]; NULL: none
  `,
  // An arena turn's images, by reference like a conversation's: both sides get them, the page shows them.
  `ALTER TABLE arena_turns ADD COLUMN images TEXT; -- JSON [{sha256, mime_type, size}]; NULL: none`,
];
