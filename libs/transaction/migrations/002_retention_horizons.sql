-- Retention horizons: how far back rows may be missing because retention deleted them.
-- log_horizon is the newest created_at, inbox_horizon the newest applied_at, of any row
-- retention deleted (raised in the statement that deletes). A check-back or a delivery
-- older than its horizon cannot trust a missing row to mean "never happened".
CREATE TABLE retention_horizon (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  -- NULL until the first start after this migration sets them from the configured retentions
  -- (ServiceStore.initHorizons): earlier versions deleted rows by age alone
  log_horizon timestamptz,
  inbox_horizon timestamptz
);
INSERT INTO retention_horizon DEFAULT VALUES;

-- Rows are stamped when written, not when their transaction began: a log row is then never
-- older than its half's born time, which the check-back compares with log_horizon.
ALTER TABLE transaction_log ALTER COLUMN created_at SET DEFAULT clock_timestamp();
ALTER TABLE inbox ALTER COLUMN applied_at SET DEFAULT clock_timestamp();

-- APPLIED: the handler ran and committed with this row. REFUSED: a delivery past the inbox
-- horizon, acknowledged without running the handler (it may be a duplicate). RELEASED: an
-- operator's decision that a refused message must be applied; its next delivery applies it.
ALTER TABLE inbox ADD COLUMN state text NOT NULL DEFAULT 'APPLIED' CHECK (state IN ('APPLIED', 'REFUSED', 'RELEASED'));
