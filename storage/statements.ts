/**
 * Every statement the store runs, in one place, so the fencing rules can be read together (and
 * the PostgreSQL locking tests can run the very same text). The same SQL runs on PGlite.
 *
 * Fencing: every conditional write reads the actor's `actor_epochs` row `FOR SHARE` in the same
 * statement. `acquireEpoch` updates that row, so it waits for every in-flight conditional write to
 * commit, and a conditional write that waited for an `acquireEpoch` re-checks the epoch on the new
 * row version (PostgreSQL's EvalPlanQual under READ COMMITTED) and finds it stale. Either way a
 * write happens entirely before or entirely after a new epoch, never across it.
 *
 * Lists travel as one JSON text parameter (`$n::text::json`): both drivers pass text untouched,
 * whereas their array encodings differ.
 */
/** $1 actor, $2 epoch, $3 seq, $4 state: the snapshot written only under the current epoch (CTEs e, up). */
const SNAPSHOT_UPSERT = `
    WITH e AS (SELECT 1 FROM actor_epochs WHERE actor_id = $1 AND epoch = $2 FOR SHARE),
    up AS (
      INSERT INTO snapshots (actor_id, epoch, seq, state)
      SELECT $1::text, $2::bigint, $3::bigint, $4::text::jsonb WHERE EXISTS (SELECT 1 FROM e)
      ON CONFLICT (actor_id) DO UPDATE
        SET epoch = EXCLUDED.epoch, seq = EXCLUDED.seq, state = EXCLUDED.state, updated_at = now()
      RETURNING 1
    )`;

export const SQL = {
  /**
   * $1 actor, $2 owner → epoch, first. One statement: creating and bumping are the same atomic
   * upsert. `first`: the row was inserted, not updated (an updated row version carries the
   * updating transaction in xmax, an inserted one 0).
   */
  acquireEpoch: `
    INSERT INTO actor_epochs (actor_id, epoch, owner)
    VALUES ($1, 1 + coalesce((SELECT epoch FROM epoch_floor WHERE id = 1), 0), $2)
    ON CONFLICT (actor_id) DO UPDATE
      SET epoch = actor_epochs.epoch + 1, owner = EXCLUDED.owner, updated_at = now()
    RETURNING epoch, (xmax = 0) AS first`,

  currentEpoch: `SELECT epoch, owner FROM actor_epochs WHERE actor_id = $1`,

  /**
   * $1 actor, $2 epoch, $3 entries as JSON, $4 first seq (null for an empty batch) →
   * epoch_ok, inserted, dups, last. Inserts every entry or none: only when the epoch is current,
   * no client id is already journaled and the batch continues the journal without a gap.
   */
  append: `
    WITH input AS (
      SELECT * FROM json_to_recordset($3::text::json)
        AS x(seq bigint, client_id text, sender text, body text, ts bigint, kind text, ref bigint)
    ),
    e AS (SELECT 1 FROM actor_epochs WHERE actor_id = $1 AND epoch = $2 FOR SHARE),
    dup AS (
      SELECT client_id, seq FROM journal
      WHERE actor_id = $1 AND client_id = ANY (ARRAY(SELECT client_id FROM input))
    ),
    tail AS (SELECT max(seq) AS last FROM journal WHERE actor_id = $1),
    go AS (
      SELECT EXISTS (SELECT 1 FROM e)
        AND NOT EXISTS (SELECT 1 FROM dup)
        AND ($4::bigint IS NULL OR (SELECT last FROM tail) IS NULL OR (SELECT last FROM tail) + 1 = $4::bigint)
        AS ok
    ),
    ins AS (
      INSERT INTO journal (actor_id, seq, client_id, sender, body, ts, epoch, kind, ref)
      SELECT $1::text, seq, client_id, sender, body, ts, $2::bigint, coalesce(kind, 'msg'), ref FROM input WHERE (SELECT ok FROM go)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM e) AS epoch_ok,
           (SELECT count(*) FROM ins) AS inserted,
           (SELECT coalesce(json_agg(json_build_array(client_id, seq)), '[]') FROM dup) AS dups`,

  /**
   * The appends of many actors in one statement (one round trip, one implicit transaction, one
   * WAL flush), at most one append per actor: the fast path of `appendGroup`. $1 appends as JSON
   * `[{i, a: actor, e: epoch, f: first seq or null}]`, $2 their entries as JSON `[{i, s: seq,
   * c: client id, u: sender, b: body, t: ts, k?: kind, r?: ref}]` (a plain message omits k and r)
   * → one row per append: i, epoch_ok, dups (always
   * null here), tail_ok. An append's entries are inserted only when its epoch is current and it
   * continues its journal without a gap; the other appends of the statement do not change that.
   * `f` null skips the gap check: an empty append, or one the caller knows continues its journal
   * (`GroupCommit`'s tail memo: this store committed the seq just before it, and the journal's end
   * is never deleted alone, so a journal that grew since then breaks the primary key instead).
   *
   * It does not look client ids up: the journal's unique index on (actor_id, client_id) refuses a
   * retried one, and that unique violation aborts the whole statement, which committed nothing.
   * The caller then runs `appendGroup`, which names the duplicates. Retries of recent publishes
   * are answered from the channel's memory before they reach the store, so the lookup, one index
   * probe per entry, was paid by every append for the rare one that needed it.
   *
   * Every lookup is a LATERAL or scalar subquery (one index probe per append) rather than a join
   * or an EXISTS: their plans follow the table statistics, and with stale ones (a young journal)
   * the planner chose to scan the whole journal for each statement (a join), or once per
   * statement to hash it (an EXISTS: 5× slower in the durable bench). A scalar subquery is never
   * hashed, and in a CASE it runs only when its branch is reached.
   *
   * The gap check probes the seq just before the append (`f - 1`) for equality, and only when that
   * row is missing asks whether the actor's journal is empty. It says less than `max(seq) = f - 1`
   * (a row at f or later is not looked for), and needs no more: inserting seq f, or a later one,
   * then breaks the primary key, the statement commits nothing, and `appendGroup` (which compares
   * with `max(seq)`) decides. Only a hole in the middle of a journal could slip through, and no
   * write makes one: every append continues its journal, and `trim` deletes a prefix. On
   * PostgreSQL 15 the probe cost ~12 µs less backend CPU per append than `max(seq)` (one
   * connection, 60 one-row appends per statement, generic plan).
   */
  appendGroupFast: `
    WITH req AS MATERIALIZED (
      SELECT * FROM json_to_recordset($1::text::json) AS x(i int, a text, e bigint, f bigint)
    ),
    e AS MATERIALIZED (
      SELECT req.i FROM (SELECT * FROM req ORDER BY a) req
      CROSS JOIN LATERAL (SELECT 1 FROM actor_epochs WHERE actor_id = req.a AND epoch = req.e FOR SHARE) locked
    ),
    st AS MATERIALIZED (
      SELECT req.i, req.a, req.e, e.i IS NOT NULL AS epoch_ok,
             CASE
               WHEN req.f IS NULL THEN true
               WHEN (SELECT 1 FROM journal j WHERE j.actor_id = req.a AND j.seq = req.f - 1) IS NOT NULL THEN true
               ELSE (SELECT min(j.seq) FROM journal j WHERE j.actor_id = req.a) IS NULL
             END AS tail_ok
      FROM req
      LEFT JOIN e ON e.i = req.i
    ),
    ins AS (
      INSERT INTO journal (actor_id, seq, client_id, sender, body, ts, epoch, kind, ref)
      SELECT st.a, rows.s, rows.c, rows.u, rows.b, rows.t, st.e, coalesce(rows.k, 'msg'), rows.r
      FROM json_to_recordset($2::text::json) AS rows(i int, s bigint, c text, u text, b text, t bigint, k text, r bigint)
      JOIN st ON st.i = rows.i
      WHERE st.epoch_ok AND st.tail_ok
    )
    SELECT i, epoch_ok, NULL::json AS dups, tail_ok FROM st`,

  /**
   * The appends of many actors that each continue what this store committed (`GroupCommit`'s tail
   * memo), as one INSERT: the statement `appendGroup` runs for such a group where the driver cannot
   * COPY (PGlite). $1 their entries as JSON `[{a: actor, e: epoch, s: seq, c: client id, u: sender,
   * b: body, t: ts, k?: kind, r?: ref}]`, in actor id order (the order the epoch rows are locked
   * in, as `appendGroupFast` locks them) → one row (actor_id) per inserted entry.
   *
   * An entry is inserted only when its actor's epoch is current, checked and locked `FOR SHARE`
   * per entry: every entry of an append sees the same epoch row (the statement's snapshot, and
   * once locked, the same version), so an append is inserted whole or, fenced, not at all. There
   * is no gap check and no client id lookup, as in `appendGroupFast` with every `f` null: the
   * journal's keys refuse an overlap or a retried client id, and that unique violation aborts the
   * statement, which committed nothing.
   *
   * Why a statement of its own: it has no CTEs, no join and no per-append JSON. With them (the
   * fast statement's executor start, materialized CTEs and second JSON text) PGlite spent 1.5–1.8×
   * the CPU on a group of 3 one-entry appends (`npm run bench:pglite -- --rows 3 --actors 3`,
   * BENCHMARKS.md (b1k)). The EXISTS stays a correlated
   * subplan (its `FOR SHARE` keeps PostgreSQL from turning it into a join): one index probe per
   * entry, whatever the table statistics say.
   */
  appendContinuing: `
    INSERT INTO journal (actor_id, seq, client_id, sender, body, ts, epoch, kind, ref)
    SELECT x.a, x.s, x.c, x.u, x.b, x.t, x.e, coalesce(x.k, 'msg'), x.r
    FROM json_to_recordset($1::text::json) AS x(a text, e bigint, s bigint, c text, u text, b text, t bigint, k text, r bigint)
    WHERE EXISTS (SELECT 1 FROM actor_epochs WHERE actor_id = x.a AND epoch = x.e FOR SHARE)
    RETURNING actor_id`,

  /**
   * `appendGroupFast` that also looks every client id up, run after the fast path hit a unique
   * violation, to name the duplicates. Same parameters; dups is null or `[[client id, seq]]`.
   * Each append is decided exactly as `append` decides it, on its own: its entries are inserted
   * only when its epoch is current, none of its client ids is journaled and it continues its
   * journal without a gap; the other appends of the statement do not change that.
   */
  appendGroup: `
    WITH req AS MATERIALIZED (
      SELECT * FROM json_to_recordset($1::text::json) AS x(i int, a text, e bigint, f bigint)
    ),
    rows AS MATERIALIZED (
      SELECT * FROM json_to_recordset($2::text::json) AS x(i int, s bigint, c text, u text, b text, t bigint, k text, r bigint)
    ),
    e AS MATERIALIZED (
      SELECT req.i FROM (SELECT * FROM req ORDER BY a) req
      CROSS JOIN LATERAL (SELECT 1 FROM actor_epochs WHERE actor_id = req.a AND epoch = req.e FOR SHARE) locked
    ),
    dup AS MATERIALIZED (
      SELECT rows.i, json_agg(json_build_array(rows.c, j.seq)) AS d
      FROM rows JOIN req ON req.i = rows.i
      CROSS JOIN LATERAL (SELECT seq FROM journal WHERE actor_id = req.a AND client_id = rows.c LIMIT 1) j
      GROUP BY rows.i
    ),
    st AS MATERIALIZED (
      SELECT req.i, req.a, req.e, e.i IS NOT NULL AS epoch_ok, dup.d AS dups,
             (req.f IS NULL OR tail.last IS NULL OR tail.last + 1 = req.f) AS tail_ok
      FROM req
      LEFT JOIN e ON e.i = req.i
      LEFT JOIN dup ON dup.i = req.i
      LEFT JOIN LATERAL (SELECT max(j.seq) AS last FROM journal j WHERE j.actor_id = req.a) tail ON true
    ),
    ins AS (
      INSERT INTO journal (actor_id, seq, client_id, sender, body, ts, epoch, kind, ref)
      SELECT st.a, rows.s, rows.c, rows.u, rows.b, rows.t, st.e, coalesce(rows.k, 'msg'), rows.r
      FROM rows JOIN st ON st.i = rows.i
      WHERE st.epoch_ok AND st.dups IS NULL AND st.tail_ok
    )
    SELECT i, epoch_ok, dups, tail_ok FROM st`,

  readAfter: `
    SELECT seq, client_id, sender, body, ts, kind, ref FROM journal
    WHERE actor_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,

  readBefore: `
    SELECT * FROM (
      SELECT seq, client_id, sender, body, ts, kind, ref FROM journal
      WHERE actor_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3
    ) newest ORDER BY seq`,

  bounds: `SELECT coalesce(min(seq), 0) AS first, coalesce(max(seq), 0) AS last FROM journal WHERE actor_id = $1`,

  /** $1 actor, $2 client ids as a JSON array. */
  findClientIds: `
    SELECT client_id, seq FROM journal
    WHERE actor_id = $1 AND client_id IN (SELECT json_array_elements_text($2::text::json))`,

  /**
   * Retention. $1 actor, $2 epoch, $3 upto seq, $4 older-than ts (null: no age rule), $5 keep-since
   * ts → epoch_ok, trimmed. Deletes the journal's prefix up to the greater of $3 and the last seq
   * before the first entry accepted at or after $4, but never an entry accepted at or after $5
   * (the exactly-once horizon: a retry younger than it must still find its client id) and never
   * the last entry (the journal's end stays, so appends' gap checks and the tail memo hold).
   * Records the floor in `actor_epochs.trimmed` in the same statement, under the epoch's row lock:
   * the checker and a new activation tell a trimmed prefix from a gap by it.
   * The tail is read from the statement's snapshot: an append that commits meanwhile only adds
   * seqs above it, so the cut stays a prefix.
   */
  trim: `
    WITH e AS (SELECT trimmed FROM actor_epochs WHERE actor_id = $1 AND epoch = $2 FOR UPDATE),
    tail AS (SELECT coalesce(max(seq), 0) AS last FROM journal WHERE actor_id = $1),
    aged AS (SELECT seq FROM journal WHERE actor_id = $1 AND ts >= $4::bigint ORDER BY seq LIMIT 1),
    young AS (SELECT seq FROM journal WHERE actor_id = $1 AND ts >= $5::bigint ORDER BY seq LIMIT 1),
    lim AS (
      SELECT least(
        greatest($3::bigint, CASE WHEN $4::bigint IS NULL THEN 0 ELSE coalesce((SELECT seq FROM aged), (SELECT last FROM tail) + 1) - 1 END),
        coalesce((SELECT seq FROM young), (SELECT last FROM tail) + 1) - 1,
        (SELECT last FROM tail) - 1
      ) AS upto
    ),
    del AS (DELETE FROM journal WHERE actor_id = $1 AND seq <= (SELECT upto FROM lim) AND EXISTS (SELECT 1 FROM e) RETURNING 1),
    mark AS (
      UPDATE actor_epochs SET trimmed = (SELECT upto FROM lim)
      WHERE actor_id = $1 AND epoch = $2 AND EXISTS (SELECT 1 FROM e) AND trimmed < (SELECT upto FROM lim)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM e) AS epoch_ok,
           greatest((SELECT upto FROM lim), (SELECT trimmed FROM e), 0) AS trimmed,
           (SELECT count(*) FROM del) AS deleted`,

  /** $1 actor, $2 epoch, $3 seq, $4 state as JSON text → epoch_ok. */
  saveSnapshot: `
${SNAPSHOT_UPSERT}
    SELECT (SELECT count(*) FROM e) AS epoch_ok, (SELECT count(*) FROM up) AS written`,

  /**
   * `saveSnapshot` with the channel events it makes ($5: JSON `[{type, afterSeq, payload, at}]`),
   * inserted in the same statement and under the same epoch check.
   */
  saveSnapshotWithEvents: `
${SNAPSHOT_UPSERT},
    ev AS (
      INSERT INTO channel_events (actor_id, after_seq, type, payload, at)
      SELECT $1::text, x."afterSeq", x.type, x.payload, x.at
      FROM json_to_recordset($5::text::json) AS x("afterSeq" bigint, type text, payload jsonb, at bigint)
      WHERE EXISTS (SELECT 1 FROM e)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM e) AS epoch_ok, (SELECT count(*) FROM up) AS written, (SELECT count(*) FROM ev) AS events`,

  loadSnapshot: `SELECT seq, state FROM snapshots WHERE actor_id = $1`,

  /** $1 actor, $2 seqs as a JSON array → the entries referring to them (index `journal_ref`). */
  readRefs: `
    SELECT seq, client_id, sender, body, ts, kind, ref FROM journal
    WHERE actor_id = $1 AND ref IN (SELECT json_array_elements_text($2::text::json)::bigint)
    ORDER BY seq`,

  /**
   * $1 user, $2 read marks as JSON `[{a: actor, s: marker}]`, $3 cap → actor_id, last, unread:
   * plain messages from others after the marker, at most $3 of them counted (one index range each).
   */
  unread: `
    SELECT m.a AS actor_id,
           coalesce((SELECT max(j.seq) FROM journal j WHERE j.actor_id = m.a), 0) AS last,
           (SELECT count(*) FROM (
              SELECT 1 FROM journal j
              WHERE j.actor_id = m.a AND j.seq > m.s AND j.kind = 'msg' AND j.sender <> $1 LIMIT $3
            ) x) AS unread
    FROM json_to_recordset($2::text::json) AS m(a text, s bigint)`,

  /**
   * $1 user, $2 query (web search syntax), $3/$4/$5 the cursor (ts, actor, entry seq; nulls for
   * the first page), $6 limit → actor_id, seq (the message), at (the entry that holds the text),
   * sender, body, ts, edited.
   *
   * Only channels whose snapshot lists the user as a member are read (`mine`): membership is
   * decided by the same durable state the channel actor enforces (G8). A hit is a message's
   * current text: a `msg` not edited since, or the latest `edit` of one, and never a deleted one.
   * No text index: the scan is bounded by the user's channels (their journals' primary key), and an
   * index on every journal row would tax every append for a rare read.
   */
  search: `
    WITH mine AS MATERIALIZED (
      SELECT actor_id FROM snapshots
      WHERE actor_id >= 'channel:' AND starts_with(actor_id, 'channel:') AND (state->'members'->>$1) IS NOT NULL
    ),
    hits AS MATERIALIZED (
      SELECT j.actor_id, j.seq AS at, CASE WHEN j.kind = 'edit' THEN j.ref ELSE j.seq END AS seq,
             j.sender, j.body, j.ts, j.kind = 'edit' AS edited
      FROM journal j
      WHERE j.actor_id IN (SELECT actor_id FROM mine) AND j.kind IN ('msg', 'edit')
        AND to_tsvector('simple', j.body) @@ websearch_to_tsquery('simple', $2)
    )
    SELECT h.actor_id, h.seq, h.at, h.sender, h.body, h.ts, h.edited FROM hits h
    WHERE NOT EXISTS (
        SELECT 1 FROM journal d WHERE d.actor_id = h.actor_id AND d.ref = h.seq
          AND (d.kind = 'delete' OR (d.kind = 'edit' AND d.seq > h.at)))
      AND ($3::bigint IS NULL OR (h.ts, h.actor_id, h.at) < ($3::bigint, $4::text, $5::bigint))
    ORDER BY h.ts DESC, h.actor_id DESC, h.at DESC
    LIMIT $6`,

  /** $1 prefix, $2 after id, $3 limit. `actor_id >= $1` lets the primary key index start the scan. */
  listSnapshots: `
    SELECT actor_id, seq, state FROM snapshots
    WHERE actor_id >= $1 AND actor_id > $2 AND starts_with(actor_id, $1)
    ORDER BY actor_id LIMIT $3`,

  /**
   * Erasure. $1 actor, $2 epoch, $3 user → epoch_ok, erased. Every entry of the user becomes a
   * tombstone: same seq and ts, empty sender and body, and a client id no client can send (longer
   * than the 64 characters `pub` allows), unique per seq; kind and ref stay (`tombstoneOf`).
   * Conditional on the epoch, like an append.
   */
  eraseSender: `
    WITH e AS (SELECT 1 FROM actor_epochs WHERE actor_id = $1 AND epoch = $2 FOR SHARE),
    up AS (
      UPDATE journal SET sender = '', body = '', client_id = 'erased:' || lpad(seq::text, 64, '0')
      WHERE actor_id = $1 AND sender = $3 AND EXISTS (SELECT 1 FROM e)
      RETURNING 1
    ),
    -- Webhook events about the user (they joined, left, came online) name them: gone too.
    ev AS (
      DELETE FROM channel_events
      WHERE actor_id = $1 AND (payload->>'user' = $3 OR payload->>'by' = $3) AND EXISTS (SELECT 1 FROM e)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM e) AS epoch_ok, (SELECT count(*) FROM up) AS erased`,
} as const;
