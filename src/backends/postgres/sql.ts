/**
 * @module
 * Every SQL statement of the PostgreSQL MetadataStore, in one place, as functions of the
 * schema name. Values always travel as parameters; the schema name is checked against
 * {@link SCHEMA_NAME_PATTERN} and quoted before it reaches any text here.
 *
 * Columns come back cast to `text` so that a user's pool with custom type parsers (or
 * none) reads the same thing, and JSON is parsed once, by keel, safely.
 */

/** Schema names keel accepts: lower-case identifiers that need no escaping anywhere. */
export const SCHEMA_NAME_PATTERN: RegExp = /^[a-z_][a-z0-9_]{0,47}$/;

/** The SQLSTATE the batch function raises when a condition does not hold. */
export const CONFLICT_SQLSTATE = 'KL409';

/** Rows fetched per round trip by `list` and `read` (keyset pagination). */
export const PAGE_SIZE = 1000;

/** The NOTIFY channel of a schema: every document write announces its key there. */
export function channelOf(schema: string): string {
  return `keel_${schema}`;
}

/** The statements of one schema, built once per store. */
export interface Statements {
  readonly schema: string;
  readonly channel: string;
  /** `$1` key → `revision`, `value` (text). */
  readonly get: string;
  /** `$1` key, `$2` value: writes whatever is there → `revision`. */
  readonly putAny: string;
  /** `$1` key, `$2` value: only when absent → `revision`, or no row. */
  readonly putNew: string;
  /** `$1` key, `$2` value, `$3` revision: only when the revision matches → `revision`, or no row. */
  readonly putIf: string;
  /** `$1` key → one row when it existed. */
  readonly deleteAny: string;
  /** `$1` key, `$2` revision → one row when it existed with that revision. */
  readonly deleteIf: string;
  /** `$1` key → the current `revision`, for a conflict's message. */
  readonly revisionOf: string;
  /** `$1` log, `$2` entry count, `$3` JSON array of entries → `start` (text). */
  readonly append: string;
  /** `$1` log, `$2` from offset, `$3` limit → `offset`, `entry` (text). */
  readonly read: string;
  /** `$1` the batch as JSON → the results as JSON text. */
  readonly batch: string;
  /** `$1` prefix: this connection watches it (the trigger notifies only watched keys). */
  readonly watchAdd: string;
  /** `$1` prefix: this connection stops watching it. */
  readonly watchRemove: string;
  /** This connection stops watching anything. */
  readonly watchClear: string;
  /** Forgets the prefixes of connections that are gone. */
  readonly watchPrune: string;
  /** `list` pages: `lower` is `>=` or `>`; `upper` whether `$2` bounds the range; `$n` limit. */
  list(lower: '>=' | '>', upper: boolean): string;
  /** `listLogs` pages, as {@link Statements.list} over log names. */
  listLogs(lower: '>=' | '>', upper: boolean): string;
}

/** Builds the statements of `schema` (already checked against {@link SCHEMA_NAME_PATTERN}). */
export function statementsFor(schema: string): Statements {
  const s = `"${schema}"`;
  const ranges = new Map<string, string>();
  return {
    schema,
    channel: channelOf(schema),
    get: `SELECT revision::text AS revision, value::text AS value FROM ${s}.documents WHERE key = $1`,
    putAny: `INSERT INTO ${s}.documents AS d (key, revision, value)
VALUES ($1, nextval('${s}.revisions'), $2::json)
ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, value = excluded.value
RETURNING d.revision::text AS revision`,
    putNew: `INSERT INTO ${s}.documents (key, revision, value)
VALUES ($1, nextval('${s}.revisions'), $2::json)
ON CONFLICT (key) DO NOTHING
RETURNING revision::text AS revision`,
    putIf: `UPDATE ${s}.documents SET revision = nextval('${s}.revisions'), value = $2::json
WHERE key = $1 AND revision::text = $3
RETURNING revision::text AS revision`,
    deleteAny: `DELETE FROM ${s}.documents WHERE key = $1 RETURNING 1 AS deleted`,
    deleteIf: `DELETE FROM ${s}.documents WHERE key = $1 AND revision::text = $2 RETURNING 1 AS deleted`,
    revisionOf: `SELECT revision::text AS revision FROM ${s}.documents WHERE key = $1`,
    // One statement: the counter row is locked by the upsert until the entries are in, so
    // concurrent appenders queue there and offsets stay contiguous.
    append: `WITH l AS (
  INSERT INTO ${s}.logs AS l (name, length) VALUES ($1, $2::bigint)
  ON CONFLICT (name) DO UPDATE SET length = l.length + excluded.length
  RETURNING l.id, l.length - $2::bigint AS start
), e AS (
  INSERT INTO ${s}.log_entries (log, "offset", entry)
  SELECT l.id, l.start + x.ord - 1, x.value FROM l, json_array_elements($3::json) WITH ORDINALITY AS x(value, ord)
)
SELECT start::text AS start FROM l`,
    read: `SELECT e."offset"::text AS "offset", e.entry::text AS entry FROM ${s}.log_entries e
WHERE e.log = (SELECT id FROM ${s}.logs WHERE name = $1) AND e."offset" >= $2::bigint
ORDER BY e."offset" LIMIT $3`,
    batch: `SELECT ${s}.apply_batch($1::json)::text AS results`,
    watchAdd: `INSERT INTO ${s}.watched (pid, prefix) VALUES (pg_backend_pid(), $1) ON CONFLICT DO NOTHING`,
    watchRemove: `DELETE FROM ${s}.watched WHERE pid = pg_backend_pid() AND prefix = $1`,
    watchClear: `DELETE FROM ${s}.watched WHERE pid = pg_backend_pid()`,
    watchPrune: `DELETE FROM ${s}.watched WHERE pid NOT IN (SELECT pid FROM pg_stat_activity)`,
    list(lower, upper) {
      return range(
        `key, revision::text AS revision, value::text AS value FROM ${s}.documents`,
        'key',
        lower,
        upper,
      );
    },
    listLogs(lower, upper) {
      return range(`name FROM ${s}.logs`, 'name', lower, upper);
    },
  };

  function range(select: string, column: string, lower: '>=' | '>', upper: boolean): string {
    const id = `${column}${lower}${upper}`;
    let text = ranges.get(id);
    if (text === undefined) {
      text = `SELECT ${select}
WHERE ${column} ${lower} $1${upper ? ` AND ${column} < $2` : ''}
ORDER BY ${column} LIMIT $${upper ? 3 : 2}`;
      ranges.set(id, text);
    }
    return text;
  }
}

/**
 * The smallest string above every string that starts with `prefix`, in code point order
 * (`undefined` when there is none): the prefix with its last code point incremented,
 * skipping the surrogate range that UTF-8 cannot encode. With it, `list` is one index
 * range `key >= prefix AND key < upper`.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/** The statements that create version 1 of a schema (run inside the migration's transaction). */
export function schemaV1(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `CREATE SEQUENCE ${s}.revisions`,
    // COLLATE "C": keys compare byte-wise (UTF-8 = code point order), so a prefix is one
    // range of the primary key index.
    `CREATE TABLE ${s}.documents (
  key text COLLATE "C" PRIMARY KEY,
  revision bigint NOT NULL,
  value json NOT NULL
)`,
    `CREATE TABLE ${s}.logs (
  name text COLLATE "C" PRIMARY KEY,
  id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  length bigint NOT NULL
)`,
    `CREATE TABLE ${s}.log_entries (
  log bigint NOT NULL REFERENCES ${s}.logs (id),
  "offset" bigint NOT NULL,
  entry json NOT NULL,
  PRIMARY KEY (log, "offset")
)`,
    `CREATE FUNCTION ${s}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM pg_notify('${channelOf(schema)}', CASE WHEN TG_OP = 'DELETE' THEN OLD.key ELSE NEW.key END);
  RETURN NULL;
END
$f$`,
    `CREATE TRIGGER documents_changed AFTER INSERT OR UPDATE OR DELETE ON ${s}.documents
FOR EACH ROW EXECUTE FUNCTION ${s}.notify_change()`,
    applyBatchFunction(s),
  ];
}

/**
 * Version 2: notify only keys that some connection watches. A transaction that NOTIFYs holds
 * PostgreSQL's notification lock while it commits, so notifying every write serialized all
 * writers (no group commit: 4-7x fewer concurrent writes per second). Watching connections
 * now record their prefixes in `watched`, and the trigger checks that small table first.
 */
export function schemaV2(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `CREATE TABLE ${s}.watched (
  pid integer NOT NULL,
  prefix text COLLATE "C" NOT NULL,
  PRIMARY KEY (pid, prefix)
)`,
    `CREATE OR REPLACE FUNCTION ${s}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  k text := CASE WHEN TG_OP = 'DELETE' THEN OLD.key ELSE NEW.key END;
BEGIN
  IF EXISTS (SELECT 1 FROM ${s}.watched w WHERE starts_with(k, w.prefix)) THEN
    PERFORM pg_notify('${channelOf(schema)}', k);
  END IF;
  RETURN NULL;
END
$f$`,
  ];
}

// The atomic batch as one function call: one round trip, one transaction. Each operation
// is checked as it is applied (every key and log appears once, so that equals checking
// against the state before the batch); a failed condition raises CONFLICT_SQLSTATE with
// the operation's index and the actual state, which rolls everything back.
function applyBatchFunction(s: string): string {
  return `CREATE FUNCTION ${s}.apply_batch(ops json) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  op json;
  idx bigint;
  results json[] := '{}';
  rev bigint;
  cur text;
  n bigint;
  lid bigint;
  start bigint;
  expected bigint;
BEGIN
  FOR op, idx IN SELECT x.value, x.ord - 1 FROM json_array_elements(ops) WITH ORDINALITY AS x(value, ord) LOOP
    rev := NULL;
    IF op->>'op' = 'put' THEN
      IF op->'ifRevision' IS NULL THEN
        INSERT INTO ${s}.documents AS d (key, revision, value) VALUES (op->>'key', nextval('${s}.revisions'), op->'value')
        ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, value = excluded.value
        RETURNING d.revision INTO rev;
      ELSIF json_typeof(op->'ifRevision') = 'null' THEN
        INSERT INTO ${s}.documents (key, revision, value) VALUES (op->>'key', nextval('${s}.revisions'), op->'value')
        ON CONFLICT (key) DO NOTHING
        RETURNING revision INTO rev;
      ELSE
        UPDATE ${s}.documents SET revision = nextval('${s}.revisions'), value = op->'value'
        WHERE key = op->>'key' AND revision::text = op->>'ifRevision'
        RETURNING revision INTO rev;
      END IF;
      IF rev IS NULL THEN
        SELECT revision::text INTO cur FROM ${s}.documents WHERE key = op->>'key';
        RAISE EXCEPTION USING ERRCODE = '${CONFLICT_SQLSTATE}', MESSAGE = 'keel batch condition failed',
          DETAIL = json_build_object('index', idx, 'actual', cur)::text;
      END IF;
      results := results || json_build_object('revision', rev::text);
    ELSIF op->>'op' = 'delete' THEN
      IF op->'ifRevision' IS NULL THEN
        DELETE FROM ${s}.documents WHERE key = op->>'key' RETURNING revision INTO rev;
      ELSE
        DELETE FROM ${s}.documents WHERE key = op->>'key' AND revision::text = op->>'ifRevision'
        RETURNING revision INTO rev;
        IF rev IS NULL THEN
          SELECT revision::text INTO cur FROM ${s}.documents WHERE key = op->>'key';
          RAISE EXCEPTION USING ERRCODE = '${CONFLICT_SQLSTATE}', MESSAGE = 'keel batch condition failed',
            DETAIL = json_build_object('index', idx, 'actual', cur)::text;
        END IF;
      END IF;
      results := results || json_build_object('deleted', rev IS NOT NULL);
    ELSE
      n := json_array_length(op->'entries');
      expected := (op->>'expectedOffset')::bigint;
      lid := NULL;
      INSERT INTO ${s}.logs AS l (name, length) VALUES (op->>'log', n)
      ON CONFLICT (name) DO UPDATE SET length = l.length + excluded.length
      WHERE expected IS NULL OR l.length = expected
      RETURNING l.id, l.length - n INTO lid, start;
      IF lid IS NULL OR (expected IS NOT NULL AND start <> expected) THEN
        SELECT length::text INTO cur FROM ${s}.logs WHERE name = op->>'log';
        RAISE EXCEPTION USING ERRCODE = '${CONFLICT_SQLSTATE}', MESSAGE = 'keel batch condition failed',
          DETAIL = json_build_object('index', idx, 'actual', CASE WHEN lid IS NULL THEN cur ELSE '0' END)::text;
      END IF;
      INSERT INTO ${s}.log_entries (log, "offset", entry)
      SELECT lid, start + x.ord - 1, x.value FROM json_array_elements(op->'entries') WITH ORDINALITY AS x(value, ord);
      results := results || json_build_object('offset', start);
    END IF;
  END LOOP;
  RETURN array_to_json(results);
END
$f$`;
}
