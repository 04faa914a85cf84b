// Source ports for load processes that open tens of thousands of client sockets on one machine.
//
// Every socket binds an explicit source port: with port 0, Linux searches its bind table for a
// free port on every bind-before-connect, which is linear in the ports already bound (measured:
// 85 % system CPU and ~300 connects/s past 60,000 sockets). The ports are taken BELOW the
// ephemeral range (32768-60999): Linux never hands out, to any connect() on the machine, a port
// that some socket bound explicitly, whatever its address, so explicit binds inside that range
// starve every other program of outgoing connections (seen: curl failing with EADDRNOTAVAIL).
// Each load process has its own source address (127.0.0.2, 127.0.0.3, ...), so it owns these
// ports on it; a port still taken (TIME_WAIT of an earlier run, a listener on 0.0.0.0) is skipped.

export const PORT_LO = 2_000;
export const PORT_HI = 32_000;

/** Hands out source ports round-robin over [PORT_LO, PORT_HI], from a random start. */
export class SourcePorts {
  #next = PORT_LO + Math.floor(Math.random() * (PORT_HI - PORT_LO));
  /** Ports found taken (EADDRINUSE) and skipped: not failures. */
  skipped = 0;

  take(): number {
    const p = this.#next;
    this.#next = this.#next >= PORT_HI ? PORT_LO : this.#next + 1;
    return p;
  }

  /**
   * Runs `attempt` with fresh ports until it reports something other than `port-taken` (at most
   * `tries` times); resolves `no-free-port` when every try found its port taken.
   */
  async withPort<T>(attempt: (port: number) => Promise<T | "port-taken">, tries = 50): Promise<T | "no-free-port"> {
    for (let i = 0; i < tries; i++) {
      const r = await attempt(this.take());
      if (r !== "port-taken") return r;
      this.skipped++;
    }
    return "no-free-port";
  }
}
