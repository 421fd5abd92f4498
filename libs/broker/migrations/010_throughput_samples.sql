-- Throughput for operators (admin.rates): every sampleInterval one broker instance records how
-- far each topic's queues (appended) and each group's offsets (consumed) have come; rates are
-- differences between samples. Samples older than an hour are deleted as new ones come.
CREATE TABLE throughput_samples (
  at timestamptz NOT NULL,
  kind text NOT NULL,          -- 'in': appended to topic; 'out': consumed by group_name
  topic text NOT NULL,
  group_name text NOT NULL DEFAULT '',
  total bigint NOT NULL,
  PRIMARY KEY (kind, topic, group_name, at)
);
CREATE INDEX throughput_samples_at ON throughput_samples (at);
