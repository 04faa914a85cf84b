/**
 * The token a client connects with: asked for once (the application's `token`), then renewed
 * through the refresh callback when the server refuses or expires it, or asks for a fresh one on
 * an open connection (`reauth`). Two refusals in a row without a connection opening between them
 * mean the refresh does not help.
 */
export class TokenKeeper {
  #token: string | undefined;
  #refusals = 0;

  constructor(
    private readonly first: () => string | Promise<string>,
    private readonly refresh: (() => Promise<string>) | undefined,
  ) {}

  /** The token in use, once there is one. */
  get current(): string | undefined {
    return this.#token;
  }

  async get(): Promise<string> {
    this.#token ??= await this.first();
    return this.#token;
  }

  /** A connection opened with the current token. */
  accepted(): void {
    this.#refusals = 0;
  }

  /** A fresh token after the server refused the current one; rejects (with why) when there is none to have. */
  async afterRefusal(why: string): Promise<string> {
    if (!this.refresh || this.#refusals >= 2) throw new Error(`The server refused the token (${why})`);
    this.#refusals++;
    try {
      return (this.#token = await this.refresh());
    } catch (err) {
      throw new Error(`Cannot refresh the token: ${(err as Error).message}`);
    }
  }

  /** A fresh token for an open connection the server asked to re-authenticate; undefined without a refresh callback. */
  async renew(): Promise<string | undefined> {
    if (!this.refresh) return undefined;
    return (this.#token = await this.refresh());
  }
}
