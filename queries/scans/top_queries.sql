-- ---
-- id: top_queries
-- title: Statements that cost the most time and read the most blocks
-- area: scans
-- severity: info
-- params:
--   top: 10
--   min_calls: 1
-- requires:
--   extensions: [pg_stat_statements]
-- sentence: "a statement ran {calls:# time} for {total_ms} ms in total ({mean_ms} ms each)"
-- tier: latent
-- harm: {metric: total_ms, unit: ms, cumulative: true}
-- label: "costly statement"
-- section: "The statements that cost the most"
-- ---
-- From pg_stat_statements, for this database: the `top` statements by total execution time and
-- the `top` by shared blocks touched (hit + read), pgvet's own statements excluded. The column
-- names used exist on PostgreSQL 13 to 18. Constants are already replaced by $n by the extension.
WITH s AS (
    SELECT q.queryid, q.query, q.calls, q.total_exec_time, q.mean_exec_time, q.rows,
           q.shared_blks_hit, q.shared_blks_read
    FROM pg_stat_statements q
    WHERE q.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND strpos(q.query, '/* pgvet */') = 0   -- pgvet's own statements carry this tag (connection.QUERY_TAG)
      -- transaction control is every client's (one queryid for all): nothing to tune there
      AND q.query !~* '^\s*(begin|commit|rollback|savepoint|release|start transaction|end|discard|deallocate)\M'
      -- statements that may carry a secret in clear (pg_stat_statements keeps utility text as typed)
      AND q.query !~* '(password|passwd|secret|\mcreate\s+(role|user)\M|\malter\s+(role|user)\M|user\s+mapping)'
      AND q.calls >= :min_calls
),
ranked AS (
    SELECT s.*, rank() OVER (ORDER BY s.total_exec_time DESC) AS time_rank,
           rank() OVER (ORDER BY s.shared_blks_hit + s.shared_blks_read DESC) AS blocks_rank
    FROM s
)
SELECT NULL::text                                AS schema,
       NULL::text                                AS "table",
       left(md5(query), 12)                      AS object,
       left(regexp_replace(query, '\s+', ' ', 'g'), 400) AS detail,
       calls,
       round(total_exec_time::numeric, 1)        AS total_ms,
       round(mean_exec_time::numeric, 2)         AS mean_ms,
       rows,
       shared_blks_hit,
       shared_blks_read,
       time_rank,
       blocks_rank
FROM ranked
WHERE time_rank <= :top OR blocks_rank <= :top
ORDER BY total_exec_time DESC, object
