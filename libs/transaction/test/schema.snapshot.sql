-- The schema "herald_local" after a migrate, from the catalogs (test/support/schema-snapshot.ts), on PostgreSQL 18.
-- Regenerate with UPDATE_SCHEMA_SNAPSHOT=1 after a deliberate schema change, and review the diff.

TABLE inbox (
  consumer_group text NOT NULL,
  msg_id text NOT NULL,
  topic text NOT NULL,
  applied_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),
  state text NOT NULL DEFAULT 'APPLIED'::text
);
TABLE retention_horizon (
  singleton boolean NOT NULL DEFAULT true,
  log_horizon timestamp with time zone,
  inbox_horizon timestamp with time zone
);
TABLE schema_migrations (
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE transaction_log (
  transaction_id text NOT NULL,
  state text NOT NULL,
  topic text NOT NULL,
  msg_id text,
  created_at timestamp with time zone NOT NULL DEFAULT clock_timestamp()
);

CONSTRAINT inbox_pkey ON inbox PRIMARY KEY (consumer_group, msg_id);
CONSTRAINT inbox_state_check ON inbox CHECK ((state = ANY (ARRAY['APPLIED'::text, 'REFUSED'::text, 'RELEASED'::text])));
CONSTRAINT retention_horizon_pkey ON retention_horizon PRIMARY KEY (singleton);
CONSTRAINT retention_horizon_singleton_check ON retention_horizon CHECK (singleton);
CONSTRAINT schema_migrations_pkey ON schema_migrations PRIMARY KEY (version);
CONSTRAINT transaction_log_pkey ON transaction_log PRIMARY KEY (transaction_id);
CONSTRAINT transaction_log_state_check ON transaction_log CHECK ((state = ANY (ARRAY['COMMITTED'::text, 'ROLLED_BACK'::text])));

CREATE INDEX inbox_applied_at ON herald_local.inbox USING btree (applied_at);
CREATE UNIQUE INDEX inbox_pkey ON herald_local.inbox USING btree (consumer_group, msg_id);
CREATE UNIQUE INDEX retention_horizon_pkey ON herald_local.retention_horizon USING btree (singleton);
CREATE UNIQUE INDEX schema_migrations_pkey ON herald_local.schema_migrations USING btree (version);
CREATE INDEX transaction_log_created_at ON herald_local.transaction_log USING btree (created_at);
CREATE UNIQUE INDEX transaction_log_pkey ON herald_local.transaction_log USING btree (transaction_id);


-- functions
