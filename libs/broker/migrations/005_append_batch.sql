-- A leaner append for the hot path. The client sends each message's rank within its
-- queue and the per-queue counts, so the database neither sorts nor numbers rows;
-- it returns one base offset per queue (message offset = base + rank).
CREATE FUNCTION append_batch(
  q_topic text[], q_id int[], q_count int[],
  p_topic text[], p_queue_id int[], p_rank int[], p_msg_id text[], p_tag text[], p_keys jsonb[],
  p_group text[], p_props jsonb[], p_body bytea[], p_born_at timestamptz[], p_reconsume int[], p_origin text[]
) RETURNS TABLE (topic text, queue_id int, base bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  v_locked int;
BEGIN
  -- Lock queue rows in a fixed order (the client sorts q_*): concurrent appenders never deadlock.
  PERFORM 1 FROM queues qu JOIN unnest(q_topic, q_id) AS c (t, q) ON qu.topic = c.t AND qu.queue_id = c.q
    ORDER BY qu.topic, qu.queue_id FOR UPDATE OF qu;
  GET DIAGNOSTICS v_locked = ROW_COUNT;
  IF v_locked <> cardinality(q_topic) THEN
    RAISE EXCEPTION 'herald: queue not found' USING ERRCODE = 'P0002';
  END IF;

  RETURN QUERY
  WITH bumped AS (
    UPDATE queues qu SET next_offset = qu.next_offset + c.n
    FROM unnest(q_topic, q_id, q_count) AS c (t, q, n)
    WHERE qu.topic = c.t AND qu.queue_id = c.q
    RETURNING qu.topic, qu.queue_id, qu.next_offset - c.n AS base
  ), inserted AS (
    INSERT INTO messages (topic, queue_id, queue_offset, msg_id, tag, keys, message_group, properties, body,
                          born_at, reconsume_times, origin_topic)
    SELECT u.t, u.q, b.base + u.r, u.mid, u.tg,
           CASE WHEN u.ks IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.ks)) END,
           u.mg, u.pr, u.bd, u.ba, coalesce(u.rc, 0), u.ot
    FROM unnest(p_topic, p_queue_id, p_rank, p_msg_id, p_tag, p_keys, p_group, p_props, p_body, p_born_at, p_reconsume, p_origin)
      AS u (t, q, r, mid, tg, ks, mg, pr, bd, ba, rc, ot)
    JOIN bumped b ON b.topic = u.t AND b.queue_id = u.q
  )
  SELECT b.topic, b.queue_id, b.base FROM bumped b;

  PERFORM pg_notify('herald_' || current_schema() || '_msg', t) FROM unnest(q_topic) AS t GROUP BY t;
END
$fn$;

-- The SQL-side callers (scheduler, simple consumers' dead letters) keep the old
-- signature; it now numbers the rows itself and appends through append_batch.
CREATE OR REPLACE FUNCTION append_messages(
  p_topic text[], p_queue_id int[], p_msg_id text[], p_tag text[], p_keys jsonb[],
  p_group text[], p_props jsonb[], p_body bytea[], p_born_at timestamptz[],
  p_reconsume int[], p_origin text[]
) RETURNS TABLE (ord bigint, queue_id int, queue_offset bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  v_rank int[];
  v_qt text[]; v_qi int[]; v_qn int[];
  v_bases jsonb;
BEGIN
  SELECT array_agg(x.rn ORDER BY x.o) INTO v_rank FROM (
    SELECT u.o, (row_number() OVER (PARTITION BY u.t, u.q ORDER BY u.o) - 1)::int AS rn
    FROM unnest(p_topic, p_queue_id) WITH ORDINALITY AS u (t, q, o)) x;
  SELECT array_agg(c.t ORDER BY c.t, c.q), array_agg(c.q ORDER BY c.t, c.q), array_agg(c.n ORDER BY c.t, c.q)
    INTO v_qt, v_qi, v_qn
  FROM (SELECT u.t, u.q, count(*)::int AS n FROM unnest(p_topic, p_queue_id) AS u (t, q) GROUP BY u.t, u.q) c;
  -- '/' cannot occur in topic names, so topic/queue is a safe key
  SELECT jsonb_object_agg(b.topic || '/' || b.queue_id, b.base) INTO v_bases
  FROM append_batch(v_qt, v_qi, v_qn, p_topic, p_queue_id, v_rank, p_msg_id, p_tag, p_keys, p_group, p_props, p_body,
                    p_born_at, p_reconsume, p_origin) AS b;

  RETURN QUERY
  SELECT u.o, u.q, (v_bases ->> (u.t || '/' || u.q))::bigint + v_rank[u.o]
  FROM unnest(p_topic, p_queue_id) WITH ORDINALITY AS u (t, q, o)
  ORDER BY u.o;
END
$fn$;

-- Look-ups by msgId go through born_at, which the msgId begins with (milliseconds).
-- A BRIN index costs appenders next to nothing; the btree on msg_id cost ~25% of
-- an append (pgbench, 1 000 messages: 14.3 ms with it, 11.0 ms without).
DROP INDEX messages_msg_id_idx;
CREATE INDEX messages_born_at_brin ON messages USING brin (born_at) WITH (pages_per_range = 32, autosummarize = on);
