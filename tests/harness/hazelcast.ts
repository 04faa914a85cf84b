// The real Hazelcast member the tests use lives with the deploy tooling (the local cluster uses it too).
export * from "../../deploy/local_hazelcast.ts";
