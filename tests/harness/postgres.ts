// The real PostgreSQL server the tests use lives with the deploy tooling (the local cluster uses it too).
export * from "../../deploy/local_postgres.ts";
