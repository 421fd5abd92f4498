-- Pull-model (simple) consumers: messages handed out and not yet acknowledged.
-- A row hides its message from the rest of the group until invisible_until; the
-- group's cursor per queue lives in consumer_offsets, as for push consumers.
CREATE TABLE pop_receipts (
  group_name       text NOT NULL,
  topic            text NOT NULL,
  queue_id         int NOT NULL,
  queue_offset     bigint NOT NULL,
  receipt          text NOT NULL,
  invisible_until  timestamptz NOT NULL,
  reconsume_times  int NOT NULL DEFAULT 0,
  PRIMARY KEY (group_name, topic, queue_id, queue_offset)
);
CREATE INDEX pop_receipts_visible_idx ON pop_receipts (group_name, invisible_until);

-- Hands out up to p_max messages to a member of p_group: first those whose
-- invisibility ran out (reconsume_times + 1; past p_max_reconsume they go to the
-- group's DLQ instead), then new ones from queues no other receiver is reading
-- (SKIP LOCKED on the cursor rows). p_tags[i] filters p_topics[i] (NULL: all).
CREATE FUNCTION pop_messages(p_group text, p_topics text[], p_tags text[], p_max int, p_invisible_ms bigint, p_max_reconsume int)
RETURNS TABLE (topic text, queue_id int, queue_offset bigint, msg_id text, tag text, keys text[], message_group text,
               properties jsonb, body bytea, born_at timestamptz, stored_at timestamptz, reconsume_times int,
               origin_topic text, receipt text)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  v_left int := p_max;
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
  WITH dead AS (
    DELETE FROM pop_receipts r
    WHERE (r.group_name, r.topic, r.queue_id, r.queue_offset) IN (
      SELECT x.group_name, x.topic, x.queue_id, x.queue_offset FROM pop_receipts x
      WHERE x.group_name = p_group AND x.invisible_until <= clock_timestamp() AND x.reconsume_times >= p_max_reconsume
      FOR UPDATE SKIP LOCKED)
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
  RETURN QUERY
  WITH again AS (
    UPDATE pop_receipts r
    SET reconsume_times = r.reconsume_times + 1, invisible_until = v_until, receipt = gen_random_uuid()::text
    WHERE (r.group_name, r.topic, r.queue_id, r.queue_offset) IN (
      SELECT x.group_name, x.topic, x.queue_id, x.queue_offset FROM pop_receipts x
      WHERE x.group_name = p_group AND x.invisible_until <= clock_timestamp()
      ORDER BY x.invisible_until LIMIT p_max FOR UPDATE SKIP LOCKED)
    RETURNING r.topic, r.queue_id, r.queue_offset, r.reconsume_times, r.receipt
  )
  SELECT m.topic, m.queue_id, m.queue_offset, m.msg_id, m.tag, m.keys, m.message_group, m.properties, m.body, m.born_at,
         m.stored_at, a.reconsume_times, m.origin_topic, a.receipt
  FROM again a JOIN messages m ON m.topic = a.topic AND m.queue_id = a.queue_id AND m.queue_offset = a.queue_offset;
  GET DIAGNOSTICS v_taken = ROW_COUNT;
  v_left := v_left - v_taken;

  -- 2. new messages, queue by queue, from cursors no other receiver holds right now
  FOR v_cursor IN
    SELECT o.topic, o.queue_id, o.committed_offset FROM consumer_offsets o
    WHERE o.group_name = p_group AND o.topic = ANY (p_topics)
    ORDER BY random()
    FOR UPDATE SKIP LOCKED
  LOOP
    EXIT WHEN v_left <= 0;
    v_tags := p_tags[array_position(p_topics, v_cursor.topic)];
    v_next := v_cursor.committed_offset;
    FOR v_row IN
      SELECT mm.* FROM messages mm
      WHERE mm.topic = v_cursor.topic AND mm.queue_id = v_cursor.queue_id AND mm.queue_offset >= v_cursor.committed_offset
      ORDER BY mm.queue_offset LIMIT 256
    LOOP
      v_next := v_row.queue_offset + 1;
      IF v_tags IS NULL OR coalesce(v_row.tag = ANY (string_to_array(v_tags, '||')), false) THEN
        v_receipt := gen_random_uuid()::text;
        INSERT INTO pop_receipts (group_name, topic, queue_id, queue_offset, receipt, invisible_until)
        VALUES (p_group, v_row.topic, v_row.queue_id, v_row.queue_offset, v_receipt, v_until);
        topic := v_row.topic; queue_id := v_row.queue_id; queue_offset := v_row.queue_offset; msg_id := v_row.msg_id;
        tag := v_row.tag; keys := v_row.keys; message_group := v_row.message_group; properties := v_row.properties;
        body := v_row.body; born_at := v_row.born_at; stored_at := v_row.stored_at; reconsume_times := 0;
        origin_topic := v_row.origin_topic; receipt := v_receipt;
        RETURN NEXT;
        v_left := v_left - 1;
        EXIT WHEN v_left <= 0;
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
CREATE FUNCTION settle_receipt(p_group text, p_topic text, p_queue_id int, p_offset bigint, p_receipt text, p_extend_ms bigint)
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
