import { PGlite } from "@electric-sql/pglite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PglitePrepared } from "./pglite_prepared.ts";
import { UNIQUE_VIOLATION, abortedByServer, sqlState } from "./sql_client.ts";

describe("PglitePrepared", () => {
  let db: PGlite;
  let prepared: PglitePrepared;

  beforeEach(async () => {
    db = await PGlite.create();
    await db.exec("CREATE TABLE t (id int PRIMARY KEY, note text)");
    prepared = new PglitePrepared(db);
  });
  afterEach(async () => {
    await db.close();
  });

  const typed = `SELECT $1::int AS i, $2::bigint AS big, $3::bool AS b, $4::text::json AS j, $5::text AS s,
                        NULL::text AS n, '2026-11-21T10:00:00Z'::timestamptz AS at`;

  it("pglite prepared - rows decode exactly as PGlite.query decodes them", async () => {
    const params = [7, 9_007_199_254_740_991, true, '{"a":[1,"x"]}', "héllo"];
    const expected = (await db.query(typed, params)).rows;
    expect(await prepared.query(typed, params)).toEqual(expected);
  });

  it("pglite prepared - a response larger than PGlite hands over at once decodes exactly, multi-byte text and empty strings included", async () => {
    const many = `SELECT n, repeat('é😀\t' || n::text, $1::int) AS s, '' AS e, NULL::int AS z FROM generate_series(1, 3000) AS n`;
    const expected = (await db.query(many, [40])).rows;
    expect(JSON.stringify(expected).length).toBeGreaterThan(1_000_000);
    expect(await prepared.query(many, [40])).toEqual(expected);
  });

  it("pglite prepared - a text is parsed once and then runs as one named statement", async () => {
    for (let i = 0; i < 5; i++) await prepared.query("INSERT INTO t VALUES ($1, $2)", [i, `n${i}`]);
    const names = await db.query<{ name: string }>("SELECT name FROM pg_prepared_statements");
    expect(names.rows.map((r) => r.name)).toEqual(["storm_1"]);
    expect(await prepared.query("SELECT count(*)::int AS c FROM t", [])).toEqual([{ c: 5 }]);
  });

  it("pglite prepared - a server error keeps its severity and SQLSTATE, and nothing of the statement commits", async () => {
    await prepared.query("INSERT INTO t VALUES ($1, $2)", [1, "a"]);
    const err = await prepared.query("INSERT INTO t VALUES ($1, $2), ($3, $4)", [2, "b", 1, "again"]).catch((e: unknown) => e);
    expect(sqlState(err)).toBe(UNIQUE_VIOLATION);
    expect(abortedByServer(err)).toBe(true);
    expect(await prepared.query("SELECT id FROM t ORDER BY id", [])).toEqual([{ id: 1 }]);
  });

  it("pglite prepared - a text that does not parse is refused and not kept", async () => {
    const err = await prepared.query("SELEC 1", []).catch((e: unknown) => e);
    expect(sqlState(err)).toBe("42601");
    expect(await prepared.query("SELECT $1::int + 1 AS v", [41])).toEqual([{ v: 42 }]);
    const names = await db.query("SELECT name FROM pg_prepared_statements");
    expect(names.rows).toHaveLength(1);
  });

  it("pglite prepared - past 64 texts, further texts still run, unprepared", async () => {
    for (let i = 0; i < 70; i++) expect(await prepared.query(`SELECT $1::int + ${i} AS v`, [1])).toEqual([{ v: 1 + i }]);
    const names = await db.query("SELECT name FROM pg_prepared_statements");
    expect(names.rows).toHaveLength(64);
  });

  it("pglite prepared - null, booleans and bigints travel as parameters; an object is refused", async () => {
    expect(await prepared.query("SELECT $1::text IS NULL AS n, $2::bool AS b, $3::bigint AS big", [null, false, 5n])).toEqual([
      { n: true, b: false, big: 5 },
    ]);
    await expect(prepared.query("SELECT $1::text AS x", [{}])).rejects.toThrow(TypeError);
  });

  it("pglite prepared - a statement waits for an open transaction instead of running inside it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedOnce = new Promise<void>((resolve) => (inserted = resolve));
    const tx = db
      .transaction(async (t) => {
        await t.query("INSERT INTO t VALUES (1, 'rolled back')");
        inserted();
        await gate;
        throw new Error("roll back");
      })
      .catch((e: unknown) => e);
    await insertedOnce;
    const count = prepared.query("SELECT count(*)::int AS c FROM t", []);
    release();
    expect(await tx).toBeInstanceOf(Error);
    expect(await count).toEqual([{ c: 0 }]);
  });
});
