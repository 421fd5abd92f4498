-- Transactional (half) messages. A half is durable and invisible; commit appends
-- it to its queue in the same transaction that deletes it, rollback deletes it.
-- Check-backs claim due halves with a lease (FOR UPDATE SKIP LOCKED), so two
-- members of a producer group never check the same half at once.
CREATE TABLE half_messages (
  transaction_id  text PRIMARY KEY,
  producer_group  text NOT NULL,
  topic           text NOT NULL,
  queue_id        int NOT NULL,
  msg_id          text NOT NULL,
  tag             text,
  keys            text[],
  message_group   text,
  properties      jsonb,
  body            bytea NOT NULL,
  born_at         timestamptz NOT NULL,
  delay_ms        bigint NOT NULL DEFAULT 0,
  state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'PARKED')),
  check_after     timestamptz NOT NULL,
  checks          int NOT NULL DEFAULT 0,
  claimed_by      text,
  claim_until     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX half_messages_due_idx ON half_messages (producer_group, check_after) WHERE state = 'PENDING';

-- Outcomes, for idempotent commit/rollback and typed errors on contradictions.
CREATE TABLE resolved_transactions (
  transaction_id  text PRIMARY KEY,
  producer_group  text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('COMMIT', 'ROLLBACK')),
  msg_id          text NOT NULL,
  topic           text NOT NULL,
  resolved_by     text NOT NULL,
  resolved_at     timestamptz NOT NULL DEFAULT now()
);

-- Live transaction producers, so halves wait (without spending checks) while nobody could answer.
CREATE TABLE producer_members (
  producer_group  text NOT NULL,
  client_id       text NOT NULL,
  lease_until     timestamptz NOT NULL,
  PRIMARY KEY (producer_group, client_id)
);

CREATE TABLE producer_groups (
  producer_group    text PRIMARY KEY,
  checks_performed  bigint NOT NULL DEFAULT 0
);
