/**
 * The statements of the data-rights and server API halves of the store (`user_data_store.ts`,
 * `api_key_store.ts`), as `statements.ts` holds the actors' ones.
 */
export const USER_DATA_SQL = {
  /**
   * $1 user, $2 after actor id, $3 after seq, $4 limit: the user's entries in (actor id, seq)
   * order after the given position. Keyset paging over the primary key: the pages of one export
   * read the journal once in all, whatever its size; no index on sender is kept for it (it would
   * cost every append a second index insert for a rare request).
   */
  userMessages: `
    SELECT actor_id, seq, client_id, body, ts, kind, ref FROM journal
    WHERE (actor_id, seq) > ($2::text, $3::bigint) AND sender = $1
    ORDER BY actor_id, seq LIMIT $4`,

  /**
   * $1 user: the channels where the user has entries, is a member, or is banned or muted (the
   * moderation state names them too), by actor id.
   */
  userChannels: `
    SELECT actor_id FROM journal WHERE sender = $1
    UNION
    SELECT actor_id FROM snapshots WHERE starts_with(actor_id, 'channel:') AND (
      jsonb_exists(state->'members', $1) OR jsonb_exists(coalesce(state->'banned', '{}'), $1) OR jsonb_exists(coalesce(state->'muted', '{}'), $1))
    ORDER BY actor_id`,

  /** $1 user: session snapshots whose state holds the text (a scan of the sessions, for erasure). */
  sessionsMentioning: `
    SELECT actor_id FROM snapshots
    WHERE starts_with(actor_id, 'session:') AND strpos(state::text, $1) > 0
    ORDER BY actor_id`,

  /** $1 user, $2 after actor id, $3 limit: channel snapshots that list the user as a member. */
  memberships: `
    SELECT actor_id, state->'members'->>$1 AS role, state->>'owner' AS owner, state->>'visibility' AS visibility
    FROM snapshots
    WHERE actor_id > $2 AND starts_with(actor_id, 'channel:') AND jsonb_exists(state->'members', $1)
    ORDER BY actor_id LIMIT $3`,

  /**
   * $1 actor ids as a JSON array → messages, snapshots, epochs deleted. Deletes everything stored
   * under those ids and raises `epoch_floor` to the greatest deleted epoch, so that a later
   * activation of the same id still fences any activation of the deleted row (G5).
   */
  dropActors: `
    WITH ids AS (SELECT json_array_elements_text($1::text::json) AS id),
    gone AS (DELETE FROM actor_epochs WHERE actor_id IN (SELECT id FROM ids) RETURNING epoch),
    fl AS (
      INSERT INTO epoch_floor (id, epoch) SELECT 1, max(epoch) FROM gone HAVING count(*) > 0
      ON CONFLICT (id) DO UPDATE SET epoch = greatest(epoch_floor.epoch, EXCLUDED.epoch)
      RETURNING 1
    ),
    j AS (DELETE FROM journal WHERE actor_id IN (SELECT id FROM ids) RETURNING 1),
    s AS (DELETE FROM snapshots WHERE actor_id IN (SELECT id FROM ids) RETURNING 1),
    ev AS (DELETE FROM channel_events WHERE actor_id IN (SELECT id FROM ids) RETURNING 1)
    SELECT (SELECT count(*) FROM j) AS messages, (SELECT count(*) FROM s) AS snapshots,
           (SELECT count(*) FROM gone) AS epochs, (SELECT count(*) FROM fl) AS floor`,

  /** $1 action, $2 actor, $3 subject hash, $4 details as JSON → id, at (ms). */
  recordAudit: `
    INSERT INTO audit (action, actor, subject_hash, details) VALUES ($1, $2, $3, $4::text::jsonb)
    RETURNING id, (extract(epoch FROM at) * 1000)::bigint AS at`,

  /** $1 after id, $2 limit. */
  listAudit: `
    SELECT id, (extract(epoch FROM at) * 1000)::bigint AS at, action, actor, subject_hash, details
    FROM audit WHERE id > $1 ORDER BY id LIMIT $2`,

  /** $1 id, $2 name, $3 scopes (comma-separated), $4 key hash → created_at (ms). */
  createKey: `
    INSERT INTO api_keys (id, name, scopes, key_hash) VALUES ($1, $2, $3, $4)
    RETURNING (extract(epoch FROM created_at) * 1000)::bigint AS created_at`,

  listKeys: `
    SELECT id, name, scopes, (extract(epoch FROM created_at) * 1000)::bigint AS created_at,
           (extract(epoch FROM revoked_at) * 1000)::bigint AS revoked_at
    FROM api_keys ORDER BY created_at, id`,

  /** $1 id → the rows revoked now (0 when unknown or already revoked). */
  revokeKey: `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`,

  /** $1 key hash: the live key with that hash. */
  findKey: `SELECT id, name, scopes FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,

  /** $1 subject hash, $2 before (ms): revocations only move forward. */
  revokeTokens: `
    INSERT INTO token_revocations (subject_hash, before) VALUES ($1, $2)
    ON CONFLICT (subject_hash) DO UPDATE SET before = greatest(token_revocations.before, EXCLUDED.before)
    RETURNING before`,

  listRevocations: `SELECT subject_hash, before FROM token_revocations`,
} as const;
