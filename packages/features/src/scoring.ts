import type { Logger, ProgressListener } from "@streamflow/core";
import {
  CoreError,
  SILENT_LOGGER,
  parseCalendarDay,
  type CalendarDay,
} from "@streamflow/core";
import type { DatasetColumn, FeatureValue } from "./dataset.ts";
import type { Database, SqlExecutor } from "./internal/db.ts";
import {
  entityKeysSql,
  noDataAsOf,
  pointInTimeSql,
  resolveTtl,
  usableSnapshots,
  viewHasDataAsOf,
  type ResolvedTtl,
  type TtlOverrides,
} from "./internal/point-in-time.ts";
import { checkShard, shardPredicate, type Shard } from "./internal/shards.ts";
import type { FeatureViewSpec, StoreLayout } from "./layout.ts";

/** Entities to score, in key order (C collation), features column-major like Dataset. */
export interface ScoringChunk {
  userIds: string[];
  /** One array per feature column (the layout's featureColumns order), each `userIds.length` long. */
  features: FeatureValue[][];
}

export interface ReadScoringRowsOptions {
  db: Database;
  /** Feature cutoff: each view contributes its latest snapshot with as_of <= this day. */
  asOf: CalendarDay;
  /** Only this shard's users; all users when absent. */
  shard?: Shard | undefined;
  /** Per-view ttl in days, overriding the views' declarations (as in DatasetOptions). */
  ttlDays?: TtlOverrides | undefined;
  /**
   * Users fetched per round trip; a chunk holds at most this many (fewer when some of them are
   * missing users, who are counted, not handed out). @default 20000
   */
  chunkRows?: number | undefined;
  /**
   * Receives each chunk in turn; the next is fetched once it resolves. `tx` is the reading
   * transaction: write predictions through it (PGlite has one connection, and a write through
   * another would wait for the read forever), so a shard's predictions commit with its read.
   */
  onChunk(chunk: ScoringChunk, tx: SqlExecutor): void | Promise<void>;
  /**
   * Called once after the last chunk, inside the transaction: a caller that leaves writes in
   * flight between chunks (to overlap them with its own work) waits for them here, before the
   * commit — a COMMIT after a failed statement would only roll back, silently.
   */
  onEnd?(tx: SqlExecutor): void | Promise<void>;
  onProgress?: ProgressListener | undefined;
  logger?: Logger | undefined;
}

export interface ReadScoringRowsResult {
  asOf: CalendarDay;
  shard: Shard | undefined;
  featureColumns: DatasetColumn[];
  /** Users handed to onChunk. */
  rows: number;
  /** Users known at asOf (in the shard) without any usable feature row: not scored. */
  missingUsers: number;
}

const MAX_CHUNK_ROWS = 1_000_000;

/** What one scoring read asks of the store. */
interface ScoringQuery {
  layout: StoreLayout;
  asOf: CalendarDay;
  ttl: ResolvedTtl;
  shard: Shard | undefined;
}

/** EXISTS a row of the view for user `u` dated <= asOf, and within `days` of it when given. */
function hasRow(
  { layout, asOf }: ScoringQuery,
  view: FeatureViewSpec,
  days: number | undefined,
): string {
  const key = layout.entity.joinKey;
  return `EXISTS (SELECT 1 FROM ${view.snapshotTable} s WHERE s.${key} = u.${key} AND ${usableSnapshots("s", asOf, days)})`;
}

/**
 * A user is scored when at least one view has a usable row (as_of <= cutoff, within the view's
 * ttl): on whatever views have a value, the rest NULL, as buildDataset gives them. Unlike a
 * training set no label is needed — scoring is for users whose outcome is unknown.
 */
function scoredSql(q: ScoringQuery): string {
  return `(${q.layout.views.map((view, i) => hasRow(q, view, q.ttl[i])).join(" OR ")})`;
}

/**
 * A user is known at asOf when any snapshot (a label or a feature view's) is dated <= asOf, ttl or
 * not: what the store knew on that day. A known user who is not scored is a missing user. Not
 * every user of `users`, which also holds users first ingested after asOf (counting them as
 * missing would make a rerun's figures depend on later ingestions, the lab's defect), and not only
 * the label snapshots, which would miss users a month's label file left out. Used as
 * `scored OR known`: only what scoredSql does not already cover.
 */
function knownSql(q: ScoringQuery): string {
  const { layout, asOf, ttl } = q;
  const key = layout.entity.joinKey;
  const label = `EXISTS (SELECT 1 FROM ${layout.label.snapshotTable} s WHERE s.${key} = u.${key} AND ${usableSnapshots("s", asOf, undefined)})`;
  // A view with a ttl may hold rows too old to use that still make the user known.
  const stale = layout.views.flatMap((view, i) =>
    ttl[i] === undefined ? [] : [hasRow(q, view, undefined)],
  );
  return `(${[label, ...stale].join(" OR ")})`;
}

/**
 * Users are drawn from the live `users` table, which holds every user any snapshot names
 * (ingestion refuses a month whose files name a user missing from its users.csv, and never deletes
 * a user), and filtered to the point in time by EXISTS probes. Deduplicating the union of the
 * snapshot tables instead costs 3x as much on 200k users: its hash output sends the per-view
 * probes all over the indexes, while `users`, inserted in user_id order, keeps them in order.
 * Missing users come through the same statement (flagged, features all NULL) so that rows and
 * missingUsers describe one snapshot even while a month is being ingested.
 */
function readUsersSql(q: ScoringQuery): string {
  const { layout, shard } = q;
  const key = layout.entity.joinKey;
  return `SELECT k.${key}, k.scored FROM (
      SELECT u.${key}, ${scoredSql(q)} AS scored, ${knownSql(q)} AS known
      FROM ${entityKeysSql(layout)} u WHERE ${shardPredicate(`u.${key}`, shard)}) k
    WHERE k.scored OR k.known`;
}

/** How many users the read will score, for progress only (a statement of its own). */
function scoredCountSql(q: ScoringQuery): string {
  return `SELECT count(*)::int AS n FROM ${entityKeysSql(q.layout)} u WHERE ${shardPredicate(`u.${q.layout.entity.joinKey}`, q.shard)} AND ${scoredSql(q)}`;
}

function chunkSize(value: number | undefined): number {
  const rows = value ?? 20_000;
  if (!Number.isSafeInteger(rows) || rows < 1 || rows > MAX_CHUNK_ROWS) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `chunkRows must be a whole number from 1 to ${MAX_CHUNK_ROWS}, got ${String(value)}`,
    );
  }
  return rows;
}

/**
 * Streams the point-in-time features of every user to score at `asOf` (see scoredSql),
 * through a cursor in one transaction: memory stays at one chunk, and the cursor's one statement
 * sees one snapshot of the store however long the scoring takes.
 *
 * @throws FeaturesError NO_DATA_AS_OF when no view has a snapshot at or before `asOf`;
 *   SHARD_INVALID for a bad shard. CoreError INVALID_ARGUMENT for bad chunkRows or ttlDays.
 */
export async function readScoringRows(
  options: ReadScoringRowsOptions,
): Promise<ReadScoringRowsResult> {
  const asOf = parseCalendarDay(options.asOf, "asOf");
  const shard =
    options.shard === undefined ? undefined : checkShard(options.shard);
  const { layout } = options.db;
  const key = layout.entity.joinKey;
  const ttl = resolveTtl(layout, options.ttlDays);
  const query: ScoringQuery = { layout, asOf, ttl, shard };
  const fetchRows = chunkSize(options.chunkRows);
  const logger = options.logger ?? SILENT_LOGGER;
  const shardText =
    shard === undefined ? "all users" : `shard ${shard.index}/${shard.count}`;
  return options.db.transaction(async (tx) => {
    // The final ordering sorts every user of the shard in memory; reverts at commit.
    await tx.exec("SET LOCAL work_mem = '256MB'");
    // The planner prices 4 probes a user as millions and compiles the query: 0.2-1 s of JIT for nothing.
    await tx.exec("SET LOCAL jit = off");
    let anyData = false;
    for (const view of layout.views)
      anyData ||= await viewHasDataAsOf(tx, view, asOf);
    if (!anyData)
      throw await noDataAsOf(
        tx,
        `no feature view has a snapshot at or before ${asOf}`,
        { asOf },
      );
    const total = (await tx.query<{ n: number }>(scoredCountSql(query)))[0]!.n;
    logger.info(`scoring rows as of ${asOf}, ${shardText}: ${total} users`);
    const sql = pointInTimeSql({
      layout,
      asOf,
      ttl,
      users: readUsersSql(query),
      carry: ["scored"],
    });
    await tx.exec(`DECLARE streamflow_scoring NO SCROLL CURSOR FOR ${sql}`);
    let rows = 0;
    let missingUsers = 0;
    const fetchNext = () => {
      const next = tx.query(`FETCH ${fetchRows} FROM streamflow_scoring`);
      // Awaited below; this only keeps a fetch that outlives a failed onChunk from going unhandled.
      next.catch(() => undefined);
      return next;
    };
    let pending = fetchNext();
    for (;;) {
      const batch = await pending;
      if (batch.length === 0) break;
      // The server reads the next chunk while this one is scored; writes onChunk makes through
      // `tx` queue behind that FETCH on the same connection.
      pending = fetchNext();
      const scored = batch.filter((r) => r["scored"] === true);
      missingUsers += batch.length - scored.length;
      if (scored.length === 0) continue;
      const chunk: ScoringChunk = {
        userIds: scored.map((r) => r[key] as string),
        features: layout.featureColumns.map((c) =>
          scored.map((r) => (r[c.name] ?? null) as FeatureValue),
        ),
      };
      await options.onChunk(chunk, tx);
      rows += scored.length;
      options.onProgress?.({ phase: "score", done: rows, total });
    }
    await options.onEnd?.(tx);
    await tx.exec("CLOSE streamflow_scoring");
    logger.info(
      `scoring rows as of ${asOf}, ${shardText}: ${rows} read, ${missingUsers} known users without features`,
    );
    return {
      asOf,
      shard,
      featureColumns: layout.featureColumns.map((c) => ({
        name: c.name,
        type: c.type,
      })),
      rows,
      missingUsers,
    };
  });
}
