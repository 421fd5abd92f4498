-- Operating Herald (issue 15).
-- The audit log: every mutation an operator makes through the admin API (console, CLI or
-- code), with who, what, when and the outcome. Deleted by the retention pass after
-- `auditRetention`. Also: pop_messages (sql/functions.sql) now stores why a simple
-- consumer's message was dead-lettered, and reset_offsets() is new; an instance of an
-- earlier release, which would re-apply its own copy of the functions, must refuse this schema.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  outcome text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
-- Message search by stored time (admin.queryMessagesByTime): stored_at follows the
-- physical order, so a BRIN index costs next to nothing on insert.
CREATE INDEX messages_stored_at_brin ON messages USING brin (stored_at) WITH (pages_per_range = 32, autosummarize = on);
