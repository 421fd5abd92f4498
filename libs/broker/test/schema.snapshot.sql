-- The schema "herald" after a migrate, from the catalogs (test/support/schema-snapshot.ts), on PostgreSQL 18.
-- Regenerate with UPDATE_SCHEMA_SNAPSHOT=1 after a deliberate schema change, and review the diff.

TABLE audit_log (
  id bigint NOT NULL DEFAULT nextval('herald.audit_log_id_seq'::regclass),
  at timestamp with time zone NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  outcome text NOT NULL
);
TABLE consumer_groups (
  group_name text NOT NULL,
  model text NOT NULL DEFAULT 'CLUSTERING'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE consumer_offsets (
  group_name text NOT NULL,
  topic text NOT NULL,
  queue_id integer NOT NULL,
  committed_offset bigint NOT NULL,
  updated_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE group_members (
  group_name text NOT NULL,
  client_id text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  subscriptions jsonb NOT NULL,
  started_at timestamp with time zone NOT NULL DEFAULT now(),
  heartbeat_at timestamp with time zone NOT NULL DEFAULT now(),
  lease_until timestamp with time zone NOT NULL
);
TABLE half_messages (
  transaction_id text NOT NULL,
  producer_group text NOT NULL,
  topic text NOT NULL,
  queue_id integer NOT NULL,
  msg_id text NOT NULL,
  tag text,
  keys text[],
  message_group text,
  properties jsonb,
  body bytea NOT NULL,
  born_at timestamp with time zone NOT NULL,
  delay_ms bigint NOT NULL DEFAULT 0,
  state text NOT NULL DEFAULT 'PENDING'::text,
  check_after timestamp with time zone NOT NULL,
  checks integer NOT NULL DEFAULT 0,
  claimed_by text,
  claim_until timestamp with time zone,
  created_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE messages (
  topic text NOT NULL,
  queue_id integer NOT NULL,
  queue_offset bigint NOT NULL,
  msg_id text NOT NULL,
  tag text,
  keys text[],
  message_group text,
  properties jsonb,
  body bytea NOT NULL,
  born_at timestamp with time zone NOT NULL,
  stored_at timestamp with time zone NOT NULL DEFAULT now(),
  reconsume_times integer NOT NULL DEFAULT 0,
  origin_topic text
);
TABLE pop_receipts (
  group_name text NOT NULL,
  topic text NOT NULL,
  queue_id integer NOT NULL,
  queue_offset bigint NOT NULL,
  receipt text NOT NULL,
  invisible_until timestamp with time zone NOT NULL,
  reconsume_times integer NOT NULL DEFAULT 0
);
TABLE producer_groups (
  producer_group text NOT NULL,
  checks_performed bigint NOT NULL DEFAULT 0
);
TABLE producer_members (
  producer_group text NOT NULL,
  client_id text NOT NULL,
  lease_until timestamp with time zone NOT NULL
);
TABLE queue_locks (
  group_name text NOT NULL,
  topic text NOT NULL,
  queue_id integer NOT NULL,
  client_id text NOT NULL,
  lease_until timestamp with time zone NOT NULL
);
TABLE queues (
  topic text NOT NULL,
  queue_id integer NOT NULL,
  next_offset bigint NOT NULL DEFAULT 0
);
TABLE resolved_transactions (
  transaction_id text NOT NULL,
  producer_group text NOT NULL,
  outcome text NOT NULL,
  msg_id text NOT NULL,
  topic text NOT NULL,
  resolved_by text NOT NULL,
  resolved_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE scheduled_messages (
  id bigint NOT NULL DEFAULT nextval('herald.scheduled_messages_id_seq'::regclass),
  due_at timestamp with time zone NOT NULL,
  topic text NOT NULL,
  queue_id integer NOT NULL,
  msg_id text NOT NULL,
  tag text,
  keys text[],
  message_group text,
  properties jsonb,
  body bytea NOT NULL,
  born_at timestamp with time zone NOT NULL,
  reconsume_times integer NOT NULL DEFAULT 0,
  origin_topic text
);
TABLE schema_functions (
  file text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE schema_migrations (
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamp with time zone NOT NULL DEFAULT now()
);
TABLE throughput_samples (
  at timestamp with time zone NOT NULL,
  kind text NOT NULL,
  topic text NOT NULL,
  group_name text NOT NULL DEFAULT ''::text,
  total bigint NOT NULL
);
TABLE topics (
  name text NOT NULL,
  queues integer NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now()
);

CONSTRAINT audit_log_pkey ON audit_log PRIMARY KEY (id);
CONSTRAINT consumer_groups_pkey ON consumer_groups PRIMARY KEY (group_name);
CONSTRAINT consumer_offsets_pkey ON consumer_offsets PRIMARY KEY (group_name, topic, queue_id);
CONSTRAINT group_members_pkey ON group_members PRIMARY KEY (group_name, client_id);
CONSTRAINT half_messages_pkey ON half_messages PRIMARY KEY (transaction_id);
CONSTRAINT half_messages_state_check ON half_messages CHECK ((state = ANY (ARRAY['PENDING'::text, 'PARKED'::text])));
CONSTRAINT messages_pkey ON messages PRIMARY KEY (topic, queue_id, queue_offset);
CONSTRAINT pop_receipts_pkey ON pop_receipts PRIMARY KEY (group_name, topic, queue_id, queue_offset);
CONSTRAINT producer_groups_pkey ON producer_groups PRIMARY KEY (producer_group);
CONSTRAINT producer_members_pkey ON producer_members PRIMARY KEY (producer_group, client_id);
CONSTRAINT queue_locks_pkey ON queue_locks PRIMARY KEY (group_name, topic, queue_id);
CONSTRAINT queues_pkey ON queues PRIMARY KEY (topic, queue_id);
CONSTRAINT queues_topic_fkey ON queues FOREIGN KEY (topic) REFERENCES herald.topics(name) ON DELETE CASCADE;
CONSTRAINT resolved_transactions_outcome_check ON resolved_transactions CHECK ((outcome = ANY (ARRAY['COMMIT'::text, 'ROLLBACK'::text])));
CONSTRAINT resolved_transactions_pkey ON resolved_transactions PRIMARY KEY (transaction_id);
CONSTRAINT scheduled_messages_pkey ON scheduled_messages PRIMARY KEY (id);
CONSTRAINT schema_functions_pkey ON schema_functions PRIMARY KEY (file);
CONSTRAINT schema_migrations_pkey ON schema_migrations PRIMARY KEY (version);
CONSTRAINT throughput_samples_pkey ON throughput_samples PRIMARY KEY (kind, topic, group_name, at);
CONSTRAINT topics_pkey ON topics PRIMARY KEY (name);
CONSTRAINT topics_queues_check ON topics CHECK (((queues >= 1) AND (queues <= 1024)));

CREATE INDEX audit_log_at ON herald.audit_log USING btree (at);
CREATE UNIQUE INDEX audit_log_pkey ON herald.audit_log USING btree (id);
CREATE UNIQUE INDEX consumer_groups_pkey ON herald.consumer_groups USING btree (group_name);
CREATE UNIQUE INDEX consumer_offsets_pkey ON herald.consumer_offsets USING btree (group_name, topic, queue_id);
CREATE UNIQUE INDEX group_members_pkey ON herald.group_members USING btree (group_name, client_id);
CREATE INDEX half_messages_due_idx ON herald.half_messages USING btree (producer_group, check_after) WHERE (state = 'PENDING'::text);
CREATE UNIQUE INDEX half_messages_pkey ON herald.half_messages USING btree (transaction_id);
CREATE INDEX messages_born_at_brin ON herald.messages USING brin (born_at) WITH (pages_per_range='32', autosummarize='on');
CREATE INDEX messages_keys_idx ON herald.messages USING gin (keys) WHERE (keys IS NOT NULL);
CREATE UNIQUE INDEX messages_pkey ON herald.messages USING btree (topic, queue_id, queue_offset);
CREATE INDEX messages_stored_at_brin ON herald.messages USING brin (stored_at) WITH (pages_per_range='32', autosummarize='on');
CREATE UNIQUE INDEX pop_receipts_pkey ON herald.pop_receipts USING btree (group_name, topic, queue_id, queue_offset);
CREATE INDEX pop_receipts_visible_idx ON herald.pop_receipts USING btree (group_name, invisible_until);
CREATE UNIQUE INDEX producer_groups_pkey ON herald.producer_groups USING btree (producer_group);
CREATE UNIQUE INDEX producer_members_pkey ON herald.producer_members USING btree (producer_group, client_id);
CREATE UNIQUE INDEX queue_locks_pkey ON herald.queue_locks USING btree (group_name, topic, queue_id);
CREATE UNIQUE INDEX queues_pkey ON herald.queues USING btree (topic, queue_id);
CREATE UNIQUE INDEX resolved_transactions_pkey ON herald.resolved_transactions USING btree (transaction_id);
CREATE INDEX scheduled_messages_due_idx ON herald.scheduled_messages USING btree (due_at, id);
CREATE UNIQUE INDEX scheduled_messages_pkey ON herald.scheduled_messages USING btree (id);
CREATE UNIQUE INDEX schema_functions_pkey ON herald.schema_functions USING btree (file);
CREATE UNIQUE INDEX schema_migrations_pkey ON herald.schema_migrations USING btree (version);
CREATE INDEX throughput_samples_at ON herald.throughput_samples USING btree (at);
CREATE UNIQUE INDEX throughput_samples_pkey ON herald.throughput_samples USING btree (kind, topic, group_name, at);
CREATE UNIQUE INDEX topics_pkey ON herald.topics USING btree (name);

SEQUENCE audit_log_id_seq;
SEQUENCE scheduled_messages_id_seq;

-- functions

CREATE OR REPLACE FUNCTION herald.append_batch(q_topic text[], q_id integer[], q_count integer[], p_topic text[], p_queue_id integer[], p_rank integer[], p_msg_id text[], p_tag text[], p_keys jsonb[], p_group text[], p_props jsonb[], p_body bytea[], p_born_at timestamp with time zone[], p_reconsume integer[], p_origin text[])
 RETURNS TABLE(topic text, queue_id integer, base bigint)
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.append_messages(p_topic text[], p_queue_id integer[], p_msg_id text[], p_tag text[], p_keys jsonb[], p_group text[], p_props jsonb[], p_body bytea[], p_born_at timestamp with time zone[], p_reconsume integer[], p_origin text[])
 RETURNS TABLE(ord bigint, queue_id integer, queue_offset bigint)
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.channel(p_kind text)
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO 'herald'
AS $function$
  SELECT 'herald_' || current_schema() || '_' || p_kind
$function$
;

CREATE OR REPLACE FUNCTION herald.defer_oldest_due_message(p_delay_ms bigint)
 RETURNS text
 LANGUAGE sql
 SET search_path TO 'herald'
AS $function$
  UPDATE scheduled_messages s SET due_at = clock_timestamp() + p_delay_ms * interval '1 millisecond'
  WHERE s.id = (SELECT x.id FROM scheduled_messages x WHERE x.due_at <= clock_timestamp() ORDER BY x.due_at, x.id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING s.msg_id
$function$
;

CREATE OR REPLACE FUNCTION herald.delete_expired_messages(p_cutoff timestamp with time zone, p_batch integer)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.keys_from_json(p_keys jsonb)
 RETURNS text[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
  SELECT CASE WHEN p_keys IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(p_keys)) END
$function$
;

CREATE OR REPLACE FUNCTION herald.move_due_messages(p_limit integer, p_max_bytes bigint)
 RETURNS TABLE(moved integer, next_due_in_ms double precision)
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.notify_group(p_group text)
 RETURNS void
 LANGUAGE sql
 SET search_path TO 'herald'
AS $function$
  SELECT pg_notify(channel('group'), p_group)
$function$
;

CREATE OR REPLACE FUNCTION herald.notify_half_due(p_group text, p_due_in_ms bigint)
 RETURNS void
 LANGUAGE sql
 SET search_path TO 'herald'
AS $function$
  SELECT pg_notify(channel('half'), p_group || ' ' || p_due_in_ms)
$function$
;

CREATE OR REPLACE FUNCTION herald.notify_messages(p_topic text)
 RETURNS void
 LANGUAGE sql
 SET search_path TO 'herald'
AS $function$
  SELECT pg_notify(channel('msg'), p_topic)
$function$
;

CREATE OR REPLACE FUNCTION herald.notify_scheduled(p_due_in_ms bigint)
 RETURNS void
 LANGUAGE sql
 SET search_path TO 'herald'
AS $function$
  SELECT pg_notify(channel('sched'), p_due_in_ms::text)
$function$
;

CREATE OR REPLACE FUNCTION herald.pop_messages(p_group text, p_topics text[], p_tags text[], p_max integer, p_invisible_ms bigint, p_max_reconsume integer, p_max_bytes bigint)
 RETURNS TABLE(topic text, queue_id integer, queue_offset bigint, msg_id text, tag text, keys text[], message_group text, properties jsonb, body bytea, born_at timestamp with time zone, stored_at timestamp with time zone, reconsume_times integer, origin_topic text, receipt text)
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.queue_min_offset(p_topic text, p_queue_id integer, p_next bigint)
 RETURNS bigint
 LANGUAGE sql
 STABLE
 SET search_path TO 'herald'
AS $function$
  SELECT coalesce((SELECT m.queue_offset FROM messages m WHERE m.topic = p_topic AND m.queue_id = p_queue_id
                   ORDER BY m.queue_offset LIMIT 1), p_next)
$function$
;

CREATE OR REPLACE FUNCTION herald.reset_offsets(p_group text, p_topic text, p_mode text, p_at timestamp with time zone, p_queue_ids integer[], p_offsets bigint[], p_apply boolean)
 RETURNS TABLE(queue_id integer, from_offset bigint, to_offset bigint, min_offset bigint, next_offset bigint)
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.resolve_halves(p_ids text[], p_outcome text, p_by text)
 RETURNS TABLE(transaction_id text, status text, msg_id text, topic text, queue_id integer, queue_offset bigint, half_age_ms double precision)
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;

CREATE OR REPLACE FUNCTION herald.settle_receipt(p_group text, p_topic text, p_queue_id integer, p_offset bigint, p_receipt text, p_extend_ms bigint)
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO 'herald'
AS $function$
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
$function$
;
