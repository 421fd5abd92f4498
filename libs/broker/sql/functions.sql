-- Every function of the broker schema, in its current form. Applied after the migrations on
-- each migrate (under the same advisory lock, with search_path set to the broker schema) when
-- its checksum differs from the one recorded in schema_functions; migrations hold tables and
-- indexes only. A change here that older instances must not undo ships with a new migration
-- (even a comment-only one): an instance whose newest migration is older refuses the schema.

-- Retired signatures, still present in schemas migrated by earlier releases.
DROP FUNCTION IF EXISTS move_due_messages(int);
DROP FUNCTION IF EXISTS pop_messages(text, text[], text[], int, bigint, int);
-- resolve_halves gained a result column (a return type CREATE OR REPLACE cannot change);
-- this file is applied in one transaction, so callers never see it missing.
DROP FUNCTION IF EXISTS resolve_halves(text[], text, text);
-- replaced by reset_offsets (by time, to the end, or to given offsets; with a preview)
DROP FUNCTION IF EXISTS reset_group_offsets(text, text, timestamptz);

-- The LISTEN/NOTIFY contract, SQL side (the TypeScript side, with the payload decoders, is
-- src/store/notifications.ts). Channel names and payload formats are written only here.
CREATE OR REPLACE FUNCTION channel(p_kind text) RETURNS text
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $fn$
  SELECT 'herald_' || current_schema() || '_' || p_kind
$fn$;

-- Messages were appended to p_topic. Payload: the topic.
CREATE OR REPLACE FUNCTION notify_messages(p_topic text) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $fn$
  SELECT pg_notify(channel('msg'), p_topic)
$fn$;

-- A scheduled message (delay, retry) is due in p_due_in_ms. Payload: the milliseconds.
CREATE OR REPLACE FUNCTION notify_scheduled(p_due_in_ms bigint) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $fn$
  SELECT pg_notify(channel('sched'), p_due_in_ms::text)
$fn$;

-- Membership or offsets of consumer group p_group changed. Payload: the group.
CREATE OR REPLACE FUNCTION notify_group(p_group text) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $fn$
  SELECT pg_notify(channel('group'), p_group)
$fn$;

-- A half of producer group p_group is due for check-back in p_due_in_ms. Payload: "group ms".
CREATE OR REPLACE FUNCTION notify_half_due(p_group text, p_due_in_ms bigint) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $fn$
  SELECT pg_notify(channel('half'), p_group || ' ' || p_due_in_ms)
$fn$;

-- A message's keys as stored (text[]) from the jsonb array they travel in (NULL stays NULL).
-- Not inlined (the sub-select prevents it): append_batch, the hot path, writes it out.
CREATE OR REPLACE FUNCTION keys_from_json(p_keys jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN p_keys IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(p_keys)) END
$fn$;

-- A leaner append for the hot path. The client sends each message's rank within its
-- queue and the per-queue counts, so the database neither sorts nor numbers rows;
-- it returns one base offset per queue (message offset = base + rank).
CREATE OR REPLACE FUNCTION append_batch(
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
           -- keys_from_json(u.ks) written out: a SQL function with a sub-select is not inlined, and
           -- calling it per row cost batch sends 17 % (npm run bench -- --scenarios batch: 94k -> 79k msg/s)
           CASE WHEN u.ks IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.ks)) END,
           u.mg, u.pr, u.bd, u.ba, coalesce(u.rc, 0), u.ot
    FROM unnest(p_topic, p_queue_id, p_rank, p_msg_id, p_tag, p_keys, p_group, p_props, p_body, p_born_at, p_reconsume, p_origin)
      AS u (t, q, r, mid, tg, ks, mg, pr, bd, ba, rc, ot)
    JOIN bumped b ON b.topic = u.t AND b.queue_id = u.q
  )
  SELECT b.topic, b.queue_id, b.base FROM bumped b;

  PERFORM notify_messages(t) FROM unnest(q_topic) AS t GROUP BY t;
END
$fn$;

-- Appends messages given in any order, one parallel-array entry each: numbers them within
-- their queues and appends through append_batch. The result maps each input ordinal to its
-- (queue_id, queue_offset). For the SQL-side callers (scheduler, simple consumers' dead letters).
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

-- Moves due scheduled messages into their queues, one runner at a time. Returns the
-- number moved (-1 when another runner holds the lock) and the milliseconds until the
-- next one is due (NULL when none is scheduled), measured on the database's clock.
CREATE OR REPLACE FUNCTION move_due_messages(p_limit int, p_max_bytes bigint)
RETURNS TABLE (moved int, next_due_in_ms double precision)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  a_topic text[]; a_queue int[]; a_msg text[]; a_tag text[]; a_keys jsonb[]; a_group text[];
  a_props jsonb[]; a_body bytea[]; a_born timestamptz[]; a_rc int[]; a_origin text[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext(current_schema() || '.scheduler')) THEN
    RETURN QUERY SELECT -1, (SELECT (extract(epoch FROM min(due_at) - clock_timestamp()) * 1000)::double precision FROM scheduled_messages);
    RETURN;
  END IF;

  WITH candidates AS (
    -- octet_length reads a toasted body's size from its header, without fetching it
    SELECT s.id, s.due_at, octet_length(s.body) AS len FROM scheduled_messages s
    WHERE s.due_at <= clock_timestamp() ORDER BY s.due_at, s.id LIMIT p_limit FOR UPDATE SKIP LOCKED
  ), picked AS (
    SELECT c.id FROM (SELECT id, sum(len) OVER (ORDER BY due_at, id) - len AS before FROM candidates) c WHERE c.before < p_max_bytes
  ), due AS (
    DELETE FROM scheduled_messages s WHERE s.id IN (SELECT id FROM picked) RETURNING s.*
  ), live AS (
    -- messages whose topic was deleted meanwhile are dropped with it
    SELECT d.* FROM due d JOIN queues qu ON qu.topic = d.topic AND qu.queue_id = d.queue_id
  )
  SELECT array_agg(topic ORDER BY due_at, id), array_agg(queue_id ORDER BY due_at, id),
         array_agg(msg_id ORDER BY due_at, id), array_agg(tag ORDER BY due_at, id),
         array_agg(to_jsonb(keys) ORDER BY due_at, id), array_agg(message_group ORDER BY due_at, id),
         array_agg(properties ORDER BY due_at, id), array_agg(body ORDER BY due_at, id),
         array_agg(born_at ORDER BY due_at, id), array_agg(reconsume_times ORDER BY due_at, id),
         array_agg(origin_topic ORDER BY due_at, id)
    INTO a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin
  FROM live;

  IF a_topic IS NOT NULL THEN
    PERFORM append_messages(a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin);
  END IF;

  RETURN QUERY SELECT coalesce(array_length(a_topic, 1), 0),
    (SELECT (extract(epoch FROM min(due_at) - clock_timestamp()) * 1000)::double precision FROM scheduled_messages);
END
$fn$;

-- Pushes the oldest due scheduled message back by p_delay_ms: when moving it alone
-- keeps failing, the others behind it must not wait. Returns its msg_id (NULL if none).
CREATE OR REPLACE FUNCTION defer_oldest_due_message(p_delay_ms bigint) RETURNS text
LANGUAGE sql SET search_path FROM CURRENT AS $fn$
  UPDATE scheduled_messages s SET due_at = clock_timestamp() + p_delay_ms * interval '1 millisecond'
  WHERE s.id = (SELECT x.id FROM scheduled_messages x WHERE x.due_at <= clock_timestamp() ORDER BY x.due_at, x.id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING s.msg_id
$fn$;

-- Hands out up to p_max messages (and about p_max_bytes of bodies) to a member of
-- p_group: first those whose invisibility ran out (reconsume_times + 1; past
-- p_max_reconsume they go to the group's DLQ instead, p_max of them per call at
-- most), then new ones from queues no other receiver is reading (SKIP LOCKED on the
-- cursor rows). p_tags[i] filters p_topics[i] (NULL: all).
CREATE OR REPLACE FUNCTION pop_messages(p_group text, p_topics text[], p_tags text[], p_max int, p_invisible_ms bigint, p_max_reconsume int, p_max_bytes bigint)
RETURNS TABLE (topic text, queue_id int, queue_offset bigint, msg_id text, tag text, keys text[], message_group text,
               properties jsonb, body bytea, born_at timestamptz, stored_at timestamptz, reconsume_times int,
               origin_topic text, receipt text)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  v_left int := p_max;
  v_bytes bigint := 0;
  v_taken int;
  v_until timestamptz := clock_timestamp() + p_invisible_ms * interval '1 millisecond';
  v_cursor record;
  v_row record;
  v_next bigint;
  v_tags text;
  v_receipt text;
  a_topic text[]; a_queue int[]; a_msg text[]; a_tag text[]; a_keys jsonb[]; a_group text[];
  a_props jsonb[]; a_body bytea[]; a_born timestamptz[]; a_rc int[]; a_origin text[];
BEGIN
  -- 1a. invisibility ran out on a message that has used up its retries: dead-letter it
  --     (a bounded batch per call, by count and by bytes; the rest go on the next calls)
  WITH expired AS (
    SELECT x.group_name, x.topic, x.queue_id, x.queue_offset, x.invisible_until FROM pop_receipts x
    WHERE x.group_name = p_group AND x.invisible_until <= clock_timestamp() AND x.reconsume_times >= p_max_reconsume
    ORDER BY x.invisible_until LIMIT p_max FOR UPDATE SKIP LOCKED
  ), sized AS (
    SELECT e.*, sum(octet_length(m.body)) OVER (ORDER BY e.invisible_until, e.topic, e.queue_id, e.queue_offset) - octet_length(m.body) AS before
    FROM expired e JOIN messages m ON m.topic = e.topic AND m.queue_id = e.queue_id AND m.queue_offset = e.queue_offset
  ), dead AS (
    DELETE FROM pop_receipts r USING sized s
    WHERE s.before < p_max_bytes AND r.group_name = s.group_name AND r.topic = s.topic AND r.queue_id = s.queue_id AND r.queue_offset = s.queue_offset
    RETURNING r.topic, r.queue_id, r.queue_offset, r.reconsume_times
  )
  SELECT array_agg('%DLQ%' || p_group), array_agg(0), array_agg(m.msg_id), array_agg(m.tag), array_agg(to_jsonb(m.keys)),
         array_agg(m.message_group),
         -- why it is a dead letter, as the push consumer's copies say it (src/failure.ts)
         array_agg(coalesce(m.properties, '{}'::jsonb) || jsonb_build_object('HERALD_ERROR_TYPE', 'invisible_timeout',
           'HERALD_ERROR_MESSAGE', 'not acknowledged within its invisible duration; received ' || (d.reconsume_times + 1) || ' times')),
         array_agg(m.body), array_agg(m.born_at),
         array_agg(d.reconsume_times), array_agg(coalesce(m.origin_topic, m.topic))
    INTO a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin
  FROM dead d JOIN messages m ON m.topic = d.topic AND m.queue_id = d.queue_id AND m.queue_offset = d.queue_offset;
  IF a_topic IS NOT NULL THEN
    PERFORM append_messages(a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin);
  END IF;

  -- 1b. invisibility ran out on the others: hand them out again, one reconsume more
  FOR v_row IN
    WITH again AS (
      SELECT x.group_name, x.topic, x.queue_id, x.queue_offset, x.invisible_until FROM pop_receipts x
      WHERE x.group_name = p_group AND x.invisible_until <= clock_timestamp()
      ORDER BY x.invisible_until LIMIT p_max FOR UPDATE SKIP LOCKED
    ), sized AS (
      SELECT a.*, sum(octet_length(m.body)) OVER (ORDER BY a.invisible_until, a.topic, a.queue_id, a.queue_offset) - octet_length(m.body) AS before
      FROM again a JOIN messages m ON m.topic = a.topic AND m.queue_id = a.queue_id AND m.queue_offset = a.queue_offset
    ), updated AS (
      UPDATE pop_receipts r
      SET reconsume_times = r.reconsume_times + 1, invisible_until = v_until, receipt = gen_random_uuid()::text
      FROM sized s
      WHERE s.before < p_max_bytes AND r.group_name = s.group_name AND r.topic = s.topic AND r.queue_id = s.queue_id AND r.queue_offset = s.queue_offset
      RETURNING r.topic, r.queue_id, r.queue_offset, r.reconsume_times, r.receipt
    )
    SELECT m.topic, m.queue_id, m.queue_offset, m.msg_id, m.tag, m.keys, m.message_group, m.properties, m.body, m.born_at,
           m.stored_at, u.reconsume_times, m.origin_topic, u.receipt
    FROM updated u JOIN messages m ON m.topic = u.topic AND m.queue_id = u.queue_id AND m.queue_offset = u.queue_offset
  LOOP
    topic := v_row.topic; queue_id := v_row.queue_id; queue_offset := v_row.queue_offset; msg_id := v_row.msg_id;
    tag := v_row.tag; keys := v_row.keys; message_group := v_row.message_group; properties := v_row.properties;
    body := v_row.body; born_at := v_row.born_at; stored_at := v_row.stored_at; reconsume_times := v_row.reconsume_times;
    origin_topic := v_row.origin_topic; receipt := v_row.receipt;
    RETURN NEXT;
    v_left := v_left - 1;
    v_bytes := v_bytes + octet_length(v_row.body);
  END LOOP;

  -- 2. new messages, queue by queue, from cursors no other receiver holds right now
  FOR v_cursor IN
    SELECT o.topic, o.queue_id, o.committed_offset FROM consumer_offsets o
    WHERE o.group_name = p_group AND o.topic = ANY (p_topics)
    ORDER BY random()
    FOR UPDATE SKIP LOCKED
  LOOP
    EXIT WHEN v_left <= 0 OR v_bytes >= p_max_bytes;
    v_tags := p_tags[array_position(p_topics, v_cursor.topic)];
    v_next := v_cursor.committed_offset;
    FOR v_row IN
      SELECT mm.* FROM messages mm
      WHERE mm.topic = v_cursor.topic AND mm.queue_id = v_cursor.queue_id AND mm.queue_offset >= v_cursor.committed_offset
      ORDER BY mm.queue_offset LIMIT 256
    LOOP
      IF v_tags IS NULL OR coalesce(v_row.tag = ANY (string_to_array(v_tags, '||')), false) THEN
        -- the byte budget: the cursor stops before a message that would pass it (unless nothing was taken yet)
        EXIT WHEN v_bytes > 0 AND v_bytes + octet_length(v_row.body) > p_max_bytes;
        v_receipt := gen_random_uuid()::text;
        INSERT INTO pop_receipts (group_name, topic, queue_id, queue_offset, receipt, invisible_until)
        VALUES (p_group, v_row.topic, v_row.queue_id, v_row.queue_offset, v_receipt, v_until);
        topic := v_row.topic; queue_id := v_row.queue_id; queue_offset := v_row.queue_offset; msg_id := v_row.msg_id;
        tag := v_row.tag; keys := v_row.keys; message_group := v_row.message_group; properties := v_row.properties;
        body := v_row.body; born_at := v_row.born_at; stored_at := v_row.stored_at; reconsume_times := 0;
        origin_topic := v_row.origin_topic; receipt := v_receipt;
        RETURN NEXT;
        v_left := v_left - 1;
        v_bytes := v_bytes + octet_length(v_row.body);
        v_next := v_row.queue_offset + 1;
        EXIT WHEN v_left <= 0;
      ELSE
        v_next := v_row.queue_offset + 1;
      END IF;
    END LOOP;
    IF v_next > v_cursor.committed_offset THEN
      UPDATE consumer_offsets o SET committed_offset = v_next, updated_at = now()
      WHERE o.group_name = p_group AND o.topic = v_cursor.topic AND o.queue_id = v_cursor.queue_id;
    END IF;
  END LOOP;
END
$fn$;

-- Acknowledges or extends a received message, if the receipt is still the current one.
CREATE OR REPLACE FUNCTION settle_receipt(p_group text, p_topic text, p_queue_id int, p_offset bigint, p_receipt text, p_extend_ms bigint)
RETURNS text
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE v_receipt text;
BEGIN
  IF p_extend_ms IS NULL THEN
    DELETE FROM pop_receipts r
    WHERE r.group_name = p_group AND r.topic = p_topic AND r.queue_id = p_queue_id AND r.queue_offset = p_offset AND r.receipt = p_receipt
    RETURNING r.receipt INTO v_receipt;
  ELSE
    UPDATE pop_receipts r SET invisible_until = clock_timestamp() + p_extend_ms * interval '1 millisecond', receipt = gen_random_uuid()::text
    WHERE r.group_name = p_group AND r.topic = p_topic AND r.queue_id = p_queue_id AND r.queue_offset = p_offset AND r.receipt = p_receipt
    RETURNING r.receipt INTO v_receipt;
  END IF;
  RETURN v_receipt;
END
$fn$;

-- Moves (or, p_apply false, only previews) a group's offsets on p_topic. p_mode: 'time'
-- (the first message stored at or after p_at, else the queue's end), 'latest' (the end),
-- 'offsets' (p_offsets[i] for queue p_queue_ids[i], clamped to what is stored; queues not
-- listed keep their offset). Returns per queue the offset before (NULL: the group had
-- none) and after, and the queue's bounds. Applying takes the queues' locks away first, in
-- a statement of its own, so members reload the offsets on their next rebalance (which the
-- notification triggers): an offset commit holds the locks FOR SHARE, so it either finishes
-- before the offsets are written (each statement reads a fresh snapshot) or finds no lock
-- and writes nothing.
CREATE OR REPLACE FUNCTION reset_offsets(p_group text, p_topic text, p_mode text, p_at timestamptz,
                                         p_queue_ids int[], p_offsets bigint[], p_apply boolean)
RETURNS TABLE (queue_id int, from_offset bigint, to_offset bigint, min_offset bigint, next_offset bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
BEGIN
  IF p_apply THEN
    DELETE FROM queue_locks l WHERE l.group_name = p_group AND l.topic = p_topic;
  END IF;
  RETURN QUERY
    WITH bounds AS (
      SELECT qu.queue_id AS q, qu.next_offset AS nxt, queue_min_offset(qu.topic, qu.queue_id, qu.next_offset) AS mn
      FROM queues qu WHERE qu.topic = p_topic
    ), target AS (
      SELECT b.q, b.mn, b.nxt, o.committed_offset AS old,
             CASE p_mode
               WHEN 'latest' THEN b.nxt
               WHEN 'time' THEN coalesce((SELECT min(m.queue_offset) FROM messages m
                                          WHERE m.topic = p_topic AND m.queue_id = b.q AND m.stored_at >= p_at), b.nxt)
               ELSE (SELECT least(greatest(x.off, b.mn), b.nxt) FROM unnest(p_queue_ids, p_offsets) AS x(q, off) WHERE x.q = b.q)
             END AS new
      FROM bounds b
      LEFT JOIN consumer_offsets o ON o.group_name = p_group AND o.topic = p_topic AND o.queue_id = b.q
    ), up AS (
      INSERT INTO consumer_offsets AS o (group_name, topic, queue_id, committed_offset, updated_at)
      SELECT p_group, p_topic, t.q, t.new, now() FROM target t WHERE p_apply AND t.new IS NOT NULL
      ON CONFLICT (group_name, topic, queue_id) DO UPDATE SET committed_offset = excluded.committed_offset, updated_at = now()
    )
    SELECT t.q, t.old, coalesce(t.new, t.old), t.mn, t.nxt FROM target t ORDER BY t.q;
  IF p_apply THEN
    PERFORM notify_group(p_group);
  END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION queue_min_offset(p_topic text, p_queue_id int, p_next bigint) RETURNS bigint
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $fn$
  SELECT coalesce((SELECT m.queue_offset FROM messages m WHERE m.topic = p_topic AND m.queue_id = p_queue_id
                   ORDER BY m.queue_offset LIMIT 1), p_next)
$fn$;

-- Deletes, per queue, up to p_batch of the oldest messages stored before p_cutoff,
-- stopping at the first younger one so only a prefix goes. One runner at a time;
-- returns -1 when another holds the lock, else the number of messages deleted.
CREATE OR REPLACE FUNCTION delete_expired_messages(p_cutoff timestamptz, p_batch int) RETURNS bigint
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

-- Resolves halves in one transaction: commit appends (or schedules, when delayed)
-- and records the outcome; rollback records it. Per transaction id the result is
-- 'DONE', 'ALREADY' (same outcome earlier), 'CONFLICT' (the other outcome earlier)
-- or 'NOT_FOUND', with the msgId and, for an append, queue and offset.
CREATE OR REPLACE FUNCTION resolve_halves(p_ids text[], p_outcome text, p_by text)
RETURNS TABLE (transaction_id text, status text, msg_id text, topic text, queue_id int, queue_offset bigint, half_age_ms double precision)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  g_ids text[]; g_msg text[]; g_topic text[]; g_queue int[]; g_delayed boolean[]; g_age double precision[];
  a_ids text[]; a_topic text[]; a_queue int[]; a_msg text[]; a_tag text[]; a_keys jsonb[]; a_group text[];
  a_props jsonb[]; a_body bytea[]; a_born timestamptz[]; a_rc int[]; a_origin text[];
  v_offsets bigint[];
  v_min_delay bigint;
BEGIN
  WITH gone AS (
    DELETE FROM half_messages h WHERE h.transaction_id = ANY (p_ids) RETURNING h.*
  ), recorded AS (
    INSERT INTO resolved_transactions (transaction_id, producer_group, outcome, msg_id, topic, resolved_by)
    SELECT g.transaction_id, g.producer_group, p_outcome, g.msg_id, g.topic, p_by FROM gone g
  ), scheduled AS (
    -- a delayed transactional message waits in the schedule once committed
    INSERT INTO scheduled_messages (topic, queue_id, msg_id, tag, keys, message_group, properties, body, born_at,
                                    reconsume_times, origin_topic, due_at)
    SELECT g.topic, g.queue_id, g.msg_id, g.tag, g.keys, g.message_group, g.properties, g.body, g.born_at, 0, NULL,
           clock_timestamp() + g.delay_ms * interval '1 millisecond'
    FROM gone g WHERE p_outcome = 'COMMIT' AND g.delay_ms > 0
  )
  SELECT array_agg(g.transaction_id ORDER BY g.created_at), array_agg(g.msg_id ORDER BY g.created_at),
         array_agg(g.topic ORDER BY g.created_at), array_agg(g.queue_id ORDER BY g.created_at),
         array_agg(g.delay_ms > 0 ORDER BY g.created_at),
         array_agg(extract(epoch FROM clock_timestamp() - g.created_at) * 1000 ORDER BY g.created_at),
         array_agg(g.transaction_id ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.topic ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.queue_id ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.msg_id ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.tag ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(to_jsonb(g.keys) ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.message_group ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.properties ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.body ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.born_at ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(0 ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(NULL::text ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         min(g.delay_ms) FILTER (WHERE g.delay_ms > 0)
    INTO g_ids, g_msg, g_topic, g_queue, g_delayed, g_age,
         a_ids, a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin, v_min_delay
  FROM gone g;

  IF p_outcome = 'COMMIT' AND v_min_delay IS NOT NULL THEN
    -- wake the schedulers: a committed delayed message is due in v_min_delay ms
    PERFORM notify_scheduled(v_min_delay);
  END IF;

  IF p_outcome = 'COMMIT' AND a_ids IS NOT NULL THEN
    SELECT array_agg(x.queue_offset ORDER BY x.ord) INTO v_offsets
    FROM append_messages(a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin) x;
  END IF;

  RETURN QUERY
  SELECT i.id,
         CASE WHEN p.o IS NOT NULL THEN 'DONE'
              WHEN t.outcome = p_outcome THEN 'ALREADY'
              WHEN t.outcome IS NOT NULL THEN 'CONFLICT'
              ELSE 'NOT_FOUND' END,
         coalesce(g_msg[p.o], t.msg_id), coalesce(g_topic[p.o], t.topic), g_queue[p.o],
         CASE WHEN p.o IS NULL OR p_outcome <> 'COMMIT' THEN NULL
              WHEN g_delayed[p.o] THEN -1::bigint
              ELSE v_offsets[array_position(a_ids, i.id)] END,
         g_age[p.o]
  FROM unnest(p_ids) AS i (id)
  CROSS JOIN LATERAL (SELECT array_position(g_ids, i.id) AS o) p
  LEFT JOIN resolved_transactions t ON t.transaction_id = i.id AND p.o IS NULL;
END
$fn$;
