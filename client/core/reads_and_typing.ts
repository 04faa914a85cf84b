/** Typing is announced at most this often per channel. */
const TYPING_EVERY_MS = 2_000;

/**
 * @internal The session's read markers and typing notices. A read marked while disconnected is
 * held (the highest per channel) and sent at the next welcome; typing is announced at most every
 * `TYPING_EVERY_MS` per channel, and at once again after a message is sent there.
 */
export class ReadsAndTyping {
  readonly #unsentReads = new Map<string, number>();
  readonly #typingAt = new Map<string, number>();

  /** A read marked while disconnected: kept until `flushReads`. */
  holdRead(ch: string, seq: number): void {
    this.#unsentReads.set(ch, Math.max(seq, this.#unsentReads.get(ch) ?? 0));
  }

  /** Hands every held read to `send` and forgets them. */
  flushReads(send: (ch: string, seq: number) => void): void {
    for (const [ch, seq] of this.#unsentReads) send(ch, seq);
    this.#unsentReads.clear();
  }

  /** True (and noted) when typing in `ch` is to be announced at `now`. */
  typingDue(ch: string, now: number): boolean {
    if (now - (this.#typingAt.get(ch) ?? -Infinity) < TYPING_EVERY_MS) return false;
    this.#typingAt.set(ch, now);
    return true;
  }

  /** A sent message ends the typing: the next keystroke announces typing again at once. */
  sent(ch: string): void {
    this.#typingAt.delete(ch);
  }
}
