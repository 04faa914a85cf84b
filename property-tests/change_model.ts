import type { ViewEntry } from "../actors/messages.ts";
import type { JournalEntry } from "../storage/store.ts";

export type ChangeWhat = "edit" | "delete" | "react" | "unreact";

/** A change a client asked for, kept to retry it unchanged (same client id: exactly once, G3). */
export interface ChangeRequest {
  cid: string;
  user: string;
  what: ChangeWhat;
  ref: number;
  /** The edit's text, or the emoji. */
  body: string;
}

const EMOJI = ["👍", "🎉"];

/**
 * The model of edits, deletes and reactions: what was asked and acknowledged, folded in seq order
 * by rules written here apart from the actor's (`message_view.ts`): the latest acknowledged edit
 * is a message's text, any acknowledged delete makes it a tombstone, and a user's reaction with an
 * emoji counts once until they take it back.
 */
export class ChangeModel {
  readonly requests = new Map<string, ChangeRequest>();
  readonly acks = new Map<string, number>();
  /** Acknowledged plain messages: seq, author and text. */
  readonly messages = new Map<number, { user: string; body: string }>();
  #n = 0;

  /** A new change by `user` on one of the acknowledged messages (`k` picks it), or undefined when none fits. */
  request(user: string, what: ChangeWhat, k: number): ChangeRequest | undefined {
    // Edits and deletes by their author (others' are refused: a test of rules, not of the model).
    const targets = [...this.messages].filter(([, m]) => what.endsWith("react") || m.user === user).map(([seq]) => seq).sort((a, b) => a - b);
    if (targets.length === 0) return undefined;
    const cid = `${what}-${++this.#n}`;
    const body = what === "edit" ? `edit ${cid}` : what === "delete" ? "" : EMOJI[k % EMOJI.length]!;
    const r = { cid, user, what, ref: targets[k % targets.length]!, body };
    this.requests.set(cid, r);
    return r;
  }

  /** The actor's message for `r`. */
  static message(r: ChangeRequest): Record<string, unknown> {
    if (r.what === "edit") return { type: "edit", user: r.user, clientId: r.cid, ref: r.ref, body: r.body };
    if (r.what === "delete") return { type: "delete", user: r.user, clientId: r.cid, ref: r.ref };
    return { type: "react", user: r.user, clientId: r.cid, ref: r.ref, emoji: r.body, remove: r.what === "unreact" };
  }

  /** Every change entry of `journal` must refer to an earlier plain message (no change of a seq that does not exist). */
  checkRefs(journal: readonly JournalEntry[], fail: (msg: string) => void): void {
    const bySeq = new Map(journal.map((e) => [e.seq, e]));
    for (const e of journal) {
      if (e.kind === undefined) continue;
      const target = e.ref === undefined ? undefined : bySeq.get(e.ref);
      if (!target || target.kind !== undefined || target.seq >= e.seq) fail(`changes: seq ${e.seq} (${e.kind}) refers to ${e.ref}, which is not an earlier message`);
      const r = this.requests.get(e.clientId);
      if (!r || r.ref !== e.ref || r.body !== e.body || (r.what === "delete" ? "delete" : r.what) !== e.kind) fail(`changes: seq ${e.seq} is not a change any client asked for (${e.clientId})`);
    }
    for (const [cid, seq] of this.acks) {
      const e = bySeq.get(seq);
      if (!e || e.clientId !== cid) fail(`changes: ${cid} acked at seq ${seq}, which holds ${e?.clientId ?? "nothing"} (a lost change)`);
    }
  }

  /** The current version of every acknowledged message must be the model's. */
  checkCurrent(view: readonly ViewEntry[], fail: (msg: string) => void): void {
    const acked = [...this.acks].map(([cid, seq]) => ({ seq, r: this.requests.get(cid)! })).sort((a, b) => a.seq - b.seq);
    const shown = new Map(view.map((v) => [v.seq, v]));
    for (const [seq, m] of this.messages) {
      let body = m.body;
      let deleted = false;
      const reactions = new Map<string, Set<string>>();
      for (const { r } of acked) {
        if (r.ref !== seq) continue;
        if (r.what === "edit") body = r.body;
        else if (r.what === "delete") deleted = true;
        else if (r.what === "react") reactions.set(r.body, (reactions.get(r.body) ?? new Set()).add(r.user));
        else reactions.get(r.body)?.delete(r.user);
      }
      const counts = Object.fromEntries([...reactions].filter(([, u]) => u.size > 0).map(([e, u]) => [e, u.size]));
      const want = deleted ? { body: "", deleted: true, reactions: {} } : { body, deleted: false, reactions: counts };
      const v = shown.get(seq);
      const got = { body: v?.body, deleted: v?.deleted === true, reactions: deleted ? {} : (v?.reactions ?? {}) };
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(`changes: message ${seq} shows ${JSON.stringify(got)}, the model says ${JSON.stringify(want)}`);
    }
  }
}
