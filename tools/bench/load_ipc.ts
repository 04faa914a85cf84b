// The command loop every load process runs under its driver (bench/fanout_procs.ts `Worker`):
// each IPC message {cmd, ...} gets exactly one reply {re: cmd, ok, ...}. If the driver vanishes
// without an `exit` command (even SIGKILL closes the IPC channel), `orphaned` runs before the
// process exits: it kills the servers under test, so none outlives a dead benchmark.

export interface LoadProcess {
  /** Set by the `exit` command's handler: the driver said goodbye, nothing is orphaned. */
  exiting: boolean;
}

export function serveCommands(handle: (msg: any) => Promise<unknown>, orphaned: () => void): LoadProcess {
  const state: LoadProcess = { exiting: false };
  process.on('message', (msg: any) => {
    handle(msg).then(
      (res) => process.send?.({ re: msg.cmd, ok: true, ...(res as object) }),
      (e) => process.send?.({ re: msg.cmd, ok: false, error: String((e as Error)?.stack ?? e) }),
    );
  });
  process.on('disconnect', () => {
    if (!state.exiting) orphaned();
    process.exit(0);
  });
  return state;
}

/** Kills process groups, ignoring ones already gone. */
export function killGroups(pgids: readonly number[]): void {
  for (const pgid of pgids) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
  }
}
