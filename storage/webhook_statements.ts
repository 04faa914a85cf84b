/**
 * The webhook statements (see `webhook_store.ts`), as `statements.ts` holds the others. Times are
 * ms since the epoch; positions are `(seq, n)` pairs compared as rows.
 */
export const WEBHOOK_SQL = {
  /** $1 id, $2 url, $3 secret, $4 events, $5 channels (comma-separated), $6 max backlog, $7 timeout ms. */
  createWebhook: `
    INSERT INTO webhooks (id, url, secret, events, channels, max_backlog, timeout_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING (extract(epoch FROM created_at) * 1000)::bigint AS created_at`,

  listWebhooks: `
    SELECT id, url, secret, events, channels, max_backlog, timeout_ms, (extract(epoch FROM created_at) * 1000)::bigint AS created_at
    FROM webhooks ORDER BY created_at, id`,

  deleteWebhook: `DELETE FROM webhooks WHERE id = $1 RETURNING id`,

  /** $1 id, $2 owner, $3 now, $4 until: the lease, when free, expired or already the owner's. */
  claimWebhook: `
    UPDATE webhooks SET owner = $2, lease_until = $4
    WHERE id = $1 AND (owner IS NULL OR owner = $2 OR lease_until < $3)
    RETURNING id`,

  webhookCursor: `SELECT seq, n FROM webhook_cursors WHERE webhook_id = $1 AND actor_id = $2`,

  /** $1 id, $2 owner, $3 actor, $4 seq, $5 n: forward only, and only by the lease holder. */
  advanceWebhook: `
    WITH holder AS (SELECT 1 FROM webhooks WHERE id = $1 AND owner = $2)
    INSERT INTO webhook_cursors (webhook_id, actor_id, seq, n)
    SELECT $1, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM holder)
    ON CONFLICT (webhook_id, actor_id) DO UPDATE SET seq = EXCLUDED.seq, n = EXCLUDED.n
      WHERE (webhook_cursors.seq, webhook_cursors.n) < (EXCLUDED.seq, EXCLUDED.n)
    RETURNING 1`,

  /** $1 actor, $2 after n, $3 limit. */
  channelEvents: `
    SELECT n, after_seq, type, payload, at FROM channel_events
    WHERE actor_id = $1 AND n > $2 ORDER BY n LIMIT $3`,

  pruneChannelEvents: `WITH gone AS (DELETE FROM channel_events WHERE at < $1 RETURNING 1) SELECT count(*) AS n FROM gone`,

  /** $1 webhook, $2 channel, $3 from, $4 to, $5 count, $6 reason, $7 last error → id, at. */
  recordDeadLetter: `
    INSERT INTO webhook_dead (webhook_id, channel, from_id, to_id, count, reason, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING id, (extract(epoch FROM at) * 1000)::bigint AS at`,

  listDeadLetters: `
    SELECT id, webhook_id, channel, from_id, to_id, count, reason, last_error, (extract(epoch FROM at) * 1000)::bigint AS at
    FROM webhook_dead WHERE webhook_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
} as const;
