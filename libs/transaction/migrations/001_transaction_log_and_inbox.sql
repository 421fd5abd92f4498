-- The service's side of Herald, in the service's own database.

-- One row per transactional message: COMMITTED is written by the local transaction
-- itself; ROLLED_BACK is a check-back's marker. The primary key is the barrier: the
-- first writer wins, a check-back racing an open local transaction waits for it.
CREATE TABLE transaction_log (
  transaction_id text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('COMMITTED', 'ROLLED_BACK')),
  topic text NOT NULL,
  msg_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transaction_log_created_at ON transaction_log (created_at);

-- Messages a consumer group has applied; written in the handler's transaction.
CREATE TABLE inbox (
  consumer_group text NOT NULL,
  msg_id text NOT NULL,
  topic text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, msg_id)
);
CREATE INDEX inbox_applied_at ON inbox (applied_at);
