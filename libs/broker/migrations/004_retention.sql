-- Retention: old messages are deleted as a prefix of each queue, in small batches,
-- without touching the queue rows that appenders lock. A queue's min offset is
-- therefore read from the messages themselves (the first PK entry), not stored.
ALTER TABLE queues DROP COLUMN min_offset;

CREATE FUNCTION queue_min_offset(p_topic text, p_queue_id int, p_next bigint) RETURNS bigint
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $fn$
  SELECT coalesce((SELECT m.queue_offset FROM messages m WHERE m.topic = p_topic AND m.queue_id = p_queue_id
                   ORDER BY m.queue_offset LIMIT 1), p_next)
$fn$;

-- Deletes, per queue, up to p_batch of the oldest messages stored before p_cutoff,
-- stopping at the first younger one so only a prefix goes. One runner at a time;
-- returns -1 when another holds the lock, else the number of messages deleted.
CREATE FUNCTION delete_expired_messages(p_cutoff timestamptz, p_batch int) RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  v_queue record;
  v_deleted bigint := 0;
  v_count bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext(current_schema() || '.retention')) THEN
    RETURN -1;
  END IF;
  FOR v_queue IN SELECT qu.topic, qu.queue_id FROM queues qu ORDER BY qu.topic, qu.queue_id LOOP
    WITH head AS (
      SELECT m.queue_offset, m.stored_at FROM messages m
      WHERE m.topic = v_queue.topic AND m.queue_id = v_queue.queue_id
      ORDER BY m.queue_offset LIMIT p_batch
    ), keep_from AS (
      SELECT coalesce(min(h.queue_offset) FILTER (WHERE h.stored_at >= p_cutoff), 9223372036854775807) AS o FROM head h
    )
    DELETE FROM messages m USING head h, keep_from k
    WHERE m.topic = v_queue.topic AND m.queue_id = v_queue.queue_id AND m.queue_offset = h.queue_offset AND h.queue_offset < k.o;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_deleted := v_deleted + v_count;
  END LOOP;
  -- receipts of simple consumers whose message is gone
  DELETE FROM pop_receipts r WHERE NOT EXISTS (
    SELECT 1 FROM messages m WHERE m.topic = r.topic AND m.queue_id = r.queue_id AND m.queue_offset = r.queue_offset);
  RETURN v_deleted;
END
$fn$;
