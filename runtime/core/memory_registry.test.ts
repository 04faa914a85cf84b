import { FakeClock } from "./clock.ts";
import { MemoryRegistry } from "./memory_registry.ts";
import { runRegistryConformance } from "./registry_conformance.ts";

const clock = new FakeClock();
runRegistryConformance("memory", {
  open: async () => new MemoryRegistry(clock),
  passTime: async (ms) => clock.advance(ms),
  leaseTtlMs: 1_000,
});
