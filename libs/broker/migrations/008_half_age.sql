-- No table change. resolve_halves (sql/functions.sql) now also returns each half's age, for
-- the finish-message latency metric; its return type changed, so an instance of an earlier
-- release, which would re-apply its own copy of the functions, must refuse this schema.
SELECT 1;
