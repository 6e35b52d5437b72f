-- Run state of the local engine. Times are real unix seconds (REAL) unless named
-- *_intended; JSON columns hold text. The current shape, applied with CREATE ... IF NOT
-- EXISTS at every start-up; changes to older files are numbered steps (db.py MIGRATIONS).

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Every accepted event, also the engine's own (inngest/function.failed, ...).
CREATE TABLE IF NOT EXISTS events (
  internal_id TEXT PRIMARY KEY,          -- ULID returned by POST /e/{key}
  id          TEXT NOT NULL,             -- the sender's id, or the ULID
  name        TEXT NOT NULL,
  body        TEXT NOT NULL,             -- the event object as functions receive it
  ts          INTEGER NOT NULL,          -- unix ms (sender's or receive time)
  received    REAL NOT NULL,
  source      TEXT NOT NULL,             -- 'api' or 'engine'
  duplicate   INTEGER NOT NULL DEFAULT 0 -- 1: its id was seen in the last 24 h; started nothing
);
CREATE INDEX IF NOT EXISTS events_by_sender_id ON events (id, received);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, internal_id);
CREATE INDEX IF NOT EXISTS events_by_received ON events (received);  -- retention purge

-- A body the SDK sent again with the same x-inngest-event-id-seed (it retried after a timeout or
-- a 5xx): the Dev Server stores each copy under the same internal id; only the first one runs.
CREATE TABLE IF NOT EXISTS event_copies (
  internal_id TEXT NOT NULL,             -- the first copy's events.internal_id
  body        TEXT NOT NULL,
  ts          INTEGER NOT NULL,
  received    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS event_copies_by_id ON event_copies (internal_id);

CREATE TABLE IF NOT EXISTS apps (
  app_id    TEXT PRIMARY KEY,
  uuid      TEXT NOT NULL,
  url       TEXT NOT NULL,
  sdk       TEXT,
  framework TEXT,
  checksum  TEXT NOT NULL,
  synced    REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS functions (
  slug    TEXT PRIMARY KEY,                -- composite id <app>-<fn>
  uuid    TEXT NOT NULL,
  app_id  TEXT NOT NULL,
  name    TEXT NOT NULL,
  config  TEXT NOT NULL,                   -- the function object as registered
  version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
  run_id         TEXT PRIMARY KEY,
  function_slug  TEXT NOT NULL,
  function_version INTEGER NOT NULL,
  event_id       TEXT NOT NULL,            -- internal id of the triggering event
  event          TEXT NOT NULL,
  events         TEXT NOT NULL,            -- JSON list; '' = [event] (one event, no batch)
  status         TEXT NOT NULL,            -- Scheduled, Running, Completed, Failed, Cancelled
  started        REAL NOT NULL,
  ended          REAL,
  output         TEXT,                     -- return value, or the error object when Failed
  memo           TEXT NOT NULL,            -- step hash -> memoized value sent back to the SDK
  stack          TEXT NOT NULL,            -- step hashes in completion order
  planned        TEXT NOT NULL,            -- planned (parallel) step hashes still to run
  attempt        INTEGER NOT NULL,         -- attempt of the current step, from 0
  due            REAL,                     -- next activation; NULL = waiting without deadline
  waiting        TEXT,                     -- JSON list of the pauses in progress (sleep, wait, invoke, ai)
  wait_event     TEXT,                     -- the first wait's event name (run_waits has them all)
  parent_run_id  TEXT,                     -- invoked runs: who to hand the output to
  parent_step_id TEXT,
  cron           TEXT,
  request_version INTEGER NOT NULL DEFAULT -1, -- `version` sent to the SDK (-1: not known yet)
  race           TEXT NOT NULL DEFAULT '[]', -- planned step hashes of a group in race mode
  retries        TEXT NOT NULL DEFAULT '{}', -- step id -> {attempt, due}: group steps and inferences waiting to retry
  defers         TEXT NOT NULL DEFAULT ''    -- hashed id -> defer() to start when the run ends; '' = none
);
CREATE INDEX IF NOT EXISTS runs_by_event ON runs (event_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE INDEX IF NOT EXISTS runs_by_wait_event ON runs (wait_event);
CREATE INDEX IF NOT EXISTS runs_by_ended ON runs (ended);            -- retention purge

-- The wait_for_event pauses of waiting runs (any number per run), to find them by event name.
-- Rewritten with the run whenever it waits; the pause itself is in runs.waiting.
CREATE TABLE IF NOT EXISTS run_waits (
  run_id  TEXT NOT NULL,
  step_id TEXT NOT NULL,
  event   TEXT NOT NULL,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX IF NOT EXISTS run_waits_by_event ON run_waits (event);

-- The timeline: one row per call attempt, sleep, wait or invoke.
CREATE TABLE IF NOT EXISTS steps (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       TEXT NOT NULL,
  step_id      TEXT NOT NULL,              -- hash, or 'step' for a call that ran no step
  name         TEXT NOT NULL,              -- the id the user wrote
  op           TEXT NOT NULL,
  attempt      INTEGER NOT NULL,
  status       TEXT NOT NULL,              -- Completed, Failed, Retrying, Sleeping, Waiting, ...
  started      REAL NOT NULL,
  ended        REAL,
  scheduled_for_intended REAL,             -- virtual clock: when it is due in intended time
  intended_delay_ms INTEGER,
  output       TEXT,
  error        TEXT
);
CREATE INDEX IF NOT EXISTS steps_by_run ON steps (run_id, seq);

CREATE TABLE IF NOT EXISTS idempotency (
  function_slug TEXT NOT NULL,
  key           TEXT NOT NULL,
  created       REAL NOT NULL,
  PRIMARY KEY (function_slug, key)
);

-- Flow control (engine/flow/). Times are real unix seconds, like the rest.
-- What flow control computed for a run from its event: priority, slot keys, deadlines.
CREATE TABLE IF NOT EXISTS flow_runs (
  run_id        TEXT PRIMARY KEY,
  function_slug TEXT NOT NULL,
  priority      INTEGER NOT NULL DEFAULT 0,  -- priority.run factor, seconds
  slot_keys     TEXT NOT NULL,               -- JSON [[concurrency key, limit], ...]
  throttle_key  TEXT,
  singleton_key TEXT,
  start_by      REAL,                        -- timeouts.start: cancelled if not started by then
  finish_s      REAL,                        -- timeouts.finish, intended seconds
  finish_by     REAL,                        -- set when the run starts
  started       REAL,                        -- its first call began (NULL: still queued)
  throttled_seq INTEGER                      -- its "Throttled" timeline row, if it waited
);
CREATE INDEX IF NOT EXISTS flow_runs_by_singleton ON flow_runs (function_slug, singleton_key);

-- Debounces and batches that have not started their run yet.
CREATE TABLE IF NOT EXISTS flow_pending (
  kind          TEXT NOT NULL,               -- 'debounce' or 'batch'
  function_slug TEXT NOT NULL,
  key           TEXT NOT NULL,
  events        TEXT NOT NULL,               -- JSON [[internal event id, event], ...]
  first_at      REAL NOT NULL,
  due           REAL NOT NULL,
  PRIMARY KEY (kind, function_slug, key)
);

-- GCRA state of throttle and rateLimit keys: the theoretical arrival time.
CREATE TABLE IF NOT EXISTS flow_gcra (
  kind          TEXT NOT NULL,               -- 'throttle' or 'rate_limit'
  function_slug TEXT NOT NULL,
  key           TEXT NOT NULL,
  tat           REAL NOT NULL,
  PRIMARY KEY (kind, function_slug, key)
);

-- Per event and function: debounced, batched, rate_limited, skipped (with the run, if any).
CREATE TABLE IF NOT EXISTS flow_log (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  at            REAL NOT NULL,
  event_id      TEXT NOT NULL,
  function_slug TEXT NOT NULL,
  decision      TEXT NOT NULL,
  key           TEXT NOT NULL,
  run_id        TEXT,
  detail        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flow_log_by_event ON flow_log (event_id, seq);
