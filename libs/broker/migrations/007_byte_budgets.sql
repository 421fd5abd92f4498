-- Byte budgets for the SQL-side movers. Every pass used to gather its rows into
-- arrays by count alone: 300 due 4 MiB retries made one array of more than 1 GiB,
-- which PostgreSQL refuses, so every pass failed on the same oldest rows and all
-- delays and retries stopped. Now each pass stops adding rows at p_max_bytes of
-- bodies (the first row always goes, so a single large one still moves).

DROP FUNCTION move_due_messages(int);

-- Moves due scheduled messages into their queues, one runner at a time. Returns the
-- number moved (-1 when another runner holds the lock) and the milliseconds until the
-- next one is due (NULL when none is scheduled), measured on the database's clock.
CREATE FUNCTION move_due_messages(p_limit int, p_max_bytes bigint)
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
CREATE FUNCTION defer_oldest_due_message(p_delay_ms bigint) RETURNS text
LANGUAGE sql SET search_path FROM CURRENT AS $fn$
  UPDATE scheduled_messages s SET due_at = clock_timestamp() + p_delay_ms * interval '1 millisecond'
  WHERE s.id = (SELECT x.id FROM scheduled_messages x WHERE x.due_at <= clock_timestamp() ORDER BY x.due_at, x.id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING s.msg_id
$fn$;

DROP FUNCTION pop_messages(text, text[], text[], int, bigint, int);

-- Hands out up to p_max messages (and about p_max_bytes of bodies) to a member of
-- p_group: first those whose invisibility ran out (reconsume_times + 1; past
-- p_max_reconsume they go to the group's DLQ instead, p_max of them per call at
-- most), then new ones from queues no other receiver is reading (SKIP LOCKED on the
-- cursor rows). p_tags[i] filters p_topics[i] (NULL: all).
CREATE FUNCTION pop_messages(p_group text, p_topics text[], p_tags text[], p_max int, p_invisible_ms bigint, p_max_reconsume int, p_max_bytes bigint)
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
         array_agg(m.message_group), array_agg(m.properties), array_agg(m.body), array_agg(m.born_at),
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
