/**
 * DatabaseDO: the single writer of one Firestore database (`idFromName("{project}/{database}")`).
 * A thin shell: RPC methods translate to the store, the commit pipeline and the transaction
 * manager, and turn FirestoreErrors into `{ error }` results.
 */
import { DurableObject } from "cloudflare:workers";
import { Code, FirestoreError, failedPrecondition, invalidArgument } from "../../src/errors/index.js";
import { CALLER_HEADER } from "../../src/middleware/auth.js";
import { databaseStub } from "../../src/middleware/database.js";
import { registryStub } from "../../src/middleware/registry.js";
import { type DatabaseRef, databaseName } from "../../src/model/path.js";
import { microsToTimestamp } from "../../src/model/timestamp.js";
import type { Fields, Micros, Value, Write, WriteResult } from "../../src/model/types.js";
import { Aggregator, aggregatedFields } from "../../src/query/aggregate.js";
import type { NormalizedQuery, QueryDoc } from "../../src/query/types.js";
import type { Env } from "../../src/routes/context.js";
import type { ChangedDoc } from "../../src/watch/listen.js";
import { Access, type Caller, lookupsFor } from "./access.js";
import type {
  BatchGetRequest,
  BatchGetResponse,
  BatchWriteResponse,
  CommitRequest,
  CommitResponse,
  Consistency,
  ImportedDocument,
  ImportResponse,
  ListCollectionIdsRequest,
  ListCollectionIdsResponse,
  ListRequest,
  ListResponse,
  PartitionRequest,
  PartitionResponse,
  Result,
  RunAggregationRequest,
  RunAggregationResponse,
  RunQueryRequest,
  RunQueryResponse,
  TransactionOptions,
} from "./api.js";
import { ChannelHub } from "./channels.js";
import { CommitBatch } from "./commit.js";
import { type ForkSource, ForkState, type ForkStatus } from "./fork.js";
import { listDocuments } from "./list.js";
import { firstPageDocs, nextPage, type RenderedPage, renderPage } from "./pages.js";
import { type Image, type Predicate, predicateOf } from "./predicates.js";
import { projectRow } from "./project.js";
import { explainMetrics, partitionPoints } from "./queries.js";
import { QueryEngine, type QueryResult, type RunOptions } from "./query-engine.js";
import { migrate } from "./schema.js";
import { DocumentStore, HISTORY_RETENTION_US } from "./store.js";
import { type PredicateRead, type Transaction, TransactionManager } from "./transactions.js";
import { SqlTxStore } from "./tx-store.js";
import {
  STREAM_CHANNEL_HEADER,
  STREAM_DATABASE_HEADER,
  STREAM_KIND_HEADER,
  STREAM_PROJECT_HEADER,
  WatchHub,
} from "./watch.js";
import { WRITE, WriteSockets } from "./write-sockets.js";

/** A fork's pages: documents, and bytes (an RPC message must stay well under 32 MiB); time per alarm. */
const FORK_PAGE_DOCUMENTS = 500;
const EXPORT_PAGE_BYTES = 8 * 1024 * 1024;
const FORK_RUN_MS = 2_000;

/** How often (at most) a commit also prunes expired history. */
const PRUNE_EVERY_US = 60_000_000;

/** Resolved snapshot for a read. */
export interface ReadSnapshot {
  /** undefined: read the latest state (locked by a read-write transaction, or a plain read). */
  readTime?: Micros;
  /** The time reported to the client. */
  reportedReadTime: Micros;
  /** The transaction the read runs in, if any. */
  tx?: Transaction;
  newTransaction?: string;
}

export class DatabaseDO extends DurableObject {
  private readonly store: DocumentStore;
  private readonly access: Access;
  private readonly txns: TransactionManager;
  private readonly engine: QueryEngine;
  private readonly watch: WatchHub;
  private readonly channels: ChannelHub;
  private readonly writeSockets: WriteSockets;
  private readonly forks: ForkState;
  private lastCommit: Micros;
  private lastPrune = 0;
  /** The latest read time reported to a client (commits are stamped after it). */
  private lastReadTime: Micros = 0;
  /** When the alarm that sweeps expired transactions is set for (null: none set by us). */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.transactionSync(() => migrate(ctx.storage.sql));
    this.store = new DocumentStore(ctx.storage.sql);
    this.forks = new ForkState(ctx.storage.sql);
    this.access = new Access(ctx.storage.sql, this.store, env.FLARESTORE_RULES_SOURCE);
    this.txns = new TransactionManager(new SqlTxStore(ctx.storage.sql));
    this.engine = new QueryEngine(ctx.storage.sql, this.store);
    this.lastCommit = this.store.lastCommitTime();
    // Listen streams whose sockets outlived the object's last run go on (before any event).
    this.watch = new WatchHub(ctx, this.store, this.engine, this.access, () => this.readNow());
    const commitWrites = (db: DatabaseRef, writes: Write[], caller: Caller) => this.commitWrites(db, writes, caller);
    this.writeSockets = new WriteSockets(ctx, commitWrites, () => this.readNow());
    this.channels = new ChannelHub(this.watch, commitWrites, () => this.readNow());
    // Transactions restored after a restart expire even if no request ever comes again.
    this.scheduleSweep();
  }

  /**
   * The realtime streams' HTTP side (routed here by the Worker, see src/routes/streams.ts): WebSocket
   * upgrades of the Listen stream, and the WebChannel requests of Listen and Write sessions.
   */
  override async fetch(request: Request): Promise<Response> {
    const project = request.headers.get(STREAM_PROJECT_HEADER);
    const database = request.headers.get(STREAM_DATABASE_HEADER);
    const channel = request.headers.get(STREAM_CHANNEL_HEADER);
    if (project === null || database === null)
      return new Response("Expected a stream request from the Worker.", { status: 400 });
    const db = { project, database };
    // Who opens the stream: the security rules decide its targets and writes as theirs.
    let caller: Caller;
    try {
      caller = JSON.parse(request.headers.get(CALLER_HEADER) ?? "") as Caller;
    } catch {
      return new Response("Expected the caller from the Worker.", { status: 400 });
    }
    if (channel === "listen" || channel === "write") return this.channels.handle(request, channel, db, caller);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade from the Worker.", { status: 400 });
    }
    return request.headers.get(STREAM_KIND_HEADER) === "write"
      ? this.writeSockets.accept(db, caller)
      : this.watch.accept(db, caller);
  }

  /** Commits a Write stream's batch like `:commit` (as `caller`'s), throwing its error. */
  private async commitWrites(
    db: DatabaseRef,
    writes: Write[],
    caller: Caller,
  ): Promise<{ writeResults: WriteResult[]; commitTime: Micros }> {
    const result = await this.commit(databaseName(db), { writes, caller });
    if ("error" in result) throw FirestoreError.fromData(result.error);
    return result.ok;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (this.ctx.getTags(ws).includes(WRITE)) this.writeSockets.message(ws, message);
    else this.watch.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    if (this.ctx.getTags(ws).includes(WRITE)) this.writeSockets.close(ws, code);
    else this.watch.close(ws, code);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1011);
  }

  /** Sweeps expired transactions (and whatever they held) when nothing else would. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.txns.sweep();
    if (this.forks.pending) await this.continueFork();
    this.scheduleSweep();
  }

  /**
   * Sets the alarm for the next possible transaction expiry (or now, while a fork copies), unless
   * one is set before it.
   */
  private scheduleSweep(): void {
    const next = this.forks.pending ? Date.now() : this.txns.nextExpiry();
    if (next === null) return;
    if (this.alarmAt !== null && this.alarmAt <= next && this.alarmAt > Date.now()) return;
    this.alarmAt = next;
    void this.ctx.storage.setAlarm(next);
  }

  /** The time a read without a read time observes: never before the last commit. */
  private readNow(): Micros {
    const now = Math.max(Date.now() * 1000, this.lastCommit);
    this.lastReadTime = Math.max(this.lastReadTime, now);
    return now;
  }

  /**
   * A fresh, strictly increasing commit time, also after every read time reported so far: a read
   * at a reported read time must keep answering the same (the clock has millisecond resolution,
   * so a commit in the same millisecond as a read would otherwise share its time).
   */
  private nextCommitTime(): Micros {
    return Math.max(Date.now() * 1000, this.lastCommit + 1, this.lastReadTime + 1);
  }

  /** Resolves a read's consistency option; locks `paths` for read-write transactions. */
  async snapshot(consistency: Consistency, lockPaths: readonly string[]): Promise<ReadSnapshot> {
    switch (consistency.kind) {
      case "latest":
        return { reportedReadTime: this.readNow() };
      case "readTime":
        this.checkReadTime(consistency.readTime);
        return { readTime: consistency.readTime, reportedReadTime: consistency.readTime };
      case "transaction":
        return this.inTransaction(this.txns.get(consistency.id), lockPaths);
      case "newTransaction": {
        const tx = this.beginTx(consistency.options);
        const snap = await this.inTransaction(tx, lockPaths);
        return { ...snap, newTransaction: tx.id };
      }
    }
  }

  private async inTransaction(tx: Transaction, lockPaths: readonly string[]): Promise<ReadSnapshot> {
    if (tx.readOnly) {
      // The id carries the read time; it must still be one whose versions are kept.
      const readTime = tx.readTime as Micros;
      this.checkReadTime(readTime);
      return { readTime, reportedReadTime: readTime, tx };
    }
    await this.txns.run(tx, () => this.txns.lockRead(tx, lockPaths));
    return { reportedReadTime: this.readNow(), tx };
  }

  private checkReadTime(readTime: Micros): void {
    const now = this.readNow();
    if (readTime > now) {
      throw invalidArgument(
        `read_time ${microsToTimestamp(readTime)} is in the future; reads can only look at the past.`,
      );
    }
    if (readTime < now - HISTORY_RETENTION_US) {
      throw failedPrecondition("read_time is more than one hour in the past; document versions are kept for one hour.");
    }
  }

  private beginTx(options: TransactionOptions): Transaction {
    if (options.readOnly) {
      const readTime = options.readTime ?? this.readNow();
      if (options.readTime !== undefined) this.checkReadTime(readTime);
      return this.txns.begin({ readOnly: true, readTime });
    }
    const tx = this.txns.begin({ readOnly: false, retryTransaction: options.retryTransaction });
    this.scheduleSweep();
    return tx;
  }

  /**
   * Runs a read of many documents (a query, a listing) under a predicate lock when `snap` is a
   * read-write transaction (see predicates.ts); `broad` is what it may read before it knows its
   * result, and `exec` returns the result with the exact predicate it read.
   */
  async readUnderPredicate<T>(snap: ReadSnapshot, broad: Predicate | null, exec: () => PredicateRead<T>): Promise<T> {
    const tx = snap.tx;
    if (!tx || tx.readOnly || broad === null) return exec().value;
    return this.txns.run(tx, () => this.txns.lockQuery(tx, broad, exec));
  }

  // -- RPC methods -----------------------------------------------------------------------------

  async batchGet(req: BatchGetRequest): Promise<Result<BatchGetResponse>> {
    return this.guard(async () => {
      // A read-write transaction locks every document up front, so later pages read what it locked.
      const snap = await this.snapshot(req.consistency, req.paths);
      const entries: BatchGetResponse["entries"] = [];
      let bytes = 0;
      // One multi-document read: its documents' rules share the lookups (20, 10 each).
      const lookups = lookupsFor(req.paths.length);
      for (const path of req.paths) {
        if (req.maxBytes !== undefined && entries.length > 0 && bytes >= req.maxBytes) break;
        const row = snap.readTime === undefined ? this.store.getLatest(path) : this.store.getAt(path, snap.readTime);
        bytes += path.length + (row?.fields.length ?? 0);
        this.access.checkGet(req.caller, path, row ? row.fields : null, lookups);
        entries.push(row ? { found: projectRow(row, req.mask) } : { missing: path });
      }
      const next = entries.length < req.paths.length ? entries.length : undefined;
      return { transaction: snap.newTransaction, readTime: snap.reportedReadTime, entries, next };
    });
  }

  async beginTransaction(options: TransactionOptions): Promise<Result<{ transaction: string }>> {
    return this.guard(() => ({ transaction: this.beginTx(options).id }));
  }

  async rollback(transaction: string): Promise<Result<Record<string, never>>> {
    return this.guard(() => {
      if (this.txns.isEnded(transaction)) return {};
      this.txns.get(transaction);
      this.txns.end(transaction);
      return {};
    });
  }

  async commit(database: string, req: CommitRequest): Promise<Result<CommitResponse>> {
    return this.guard(async () => {
      const paths = req.writes.filter((w) => w.kind !== "verify").map((w) => w.path);
      const apply = (batch: CommitBatch) => {
        const results = req.writes.map((w) => batch.apply(w));
        // Inside the commit, before anything is written: a denial leaves the database untouched.
        this.access.checkWrites(req.caller, batch.written(), (p) => (batch.holds(p) ? batch.after(p) : undefined));
        return results;
      };
      const respond = (writeResults: CommitResponse["writeResults"], commitTime: Micros): CommitResponse => {
        const response: CommitResponse = { commitTime, writeResults };
        const first = req.writes[0];
        if (req.readBack && first) {
          const row = this.store.getLatest(first.path);
          response.document = row ? projectRow(row, req.readBack.mask) : null;
        }
        return response;
      };
      if (req.transaction === undefined) return this.writeUnderLocks(database, null, paths, apply, respond);
      const tx = this.txns.get(req.transaction);
      if (tx.readOnly && req.writes.length > 0) {
        throw invalidArgument("A read-only transaction cannot be used to write; begin a read-write transaction.");
      }
      if (tx.readOnly) return this.writeUnderLocks(database, null, paths, apply, respond);
      this.txns.claimCommit(tx);
      try {
        return await this.txns.run(tx, () => this.writeUnderLocks(database, tx, paths, apply, respond));
      } finally {
        this.txns.end(tx.id);
      }
    });
  }

  /**
   * Applies a write under Firestore's locks: exclusive locks on `paths` (for the transaction, or
   * for a plain write when `tx` is null), then, holding them, waits until no other transaction's
   * predicate lock covers what the write changes, then applies it in one synchronous SQLite
   * transaction. `apply` fills the batch (and may throw: nothing is written then); `respond` runs
   * after the commit inside the same SQLite transaction.
   */
  private async writeUnderLocks<V, T>(
    database: string,
    tx: Transaction | null,
    paths: readonly string[],
    apply: (batch: CommitBatch) => V,
    respond: (value: V, commitTime: Micros) => T,
  ): Promise<T> {
    const handle = await this.txns.beginWrite(tx, paths);
    try {
      for (;;) {
        let changes: ChangedDoc[] = [];
        let committedAt = 0;
        const outcome = this.ctx.storage.transactionSync((): { images: Image[] } | { done: T } => {
          // The transaction may have been aborted since its last wait ended (microtasks ran).
          this.txns.ensureActive(handle.owner);
          const commitTime = this.nextCommitTime();
          const batch = new CommitBatch(this.store, commitTime, (p) => `${database}/documents/${p}`);
          const value = apply(batch);
          const images = batch.images();
          // Nothing is written before flush, so returning here leaves the database untouched.
          if (this.txns.writeBlocked(handle, images)) return { images };
          this.finishCommit(batch, commitTime);
          if (this.watch.listening) changes = batch.changes();
          committedAt = commitTime;
          // The transaction ends with its commit, in the same synchronous step.
          if (tx) this.txns.end(tx.id);
          return { done: respond(value, commitTime) };
        });
        if ("done" in outcome) {
          // Listeners hear of the commit once it is durable, before anything else can run.
          this.watch.commit(changes, committedAt);
          return outcome.done;
        }
        await this.txns.awaitPredicates(handle, outcome.images);
      }
    } finally {
      if (tx === null) this.txns.finishWrite(handle);
    }
  }

  private finishCommit(batch: CommitBatch, commitTime: Micros): void {
    // Commit times advance even for commits that changed nothing: every commit has its own time.
    batch.flush();
    this.store.setLastCommitTime(commitTime);
    this.lastCommit = commitTime;
    if (commitTime - this.lastPrune > PRUNE_EVERY_US) {
      this.store.prune(commitTime - HISTORY_RETENTION_US);
      this.lastPrune = commitTime;
    }
  }

  /**
   * Imports documents as exported, each with its own create and update times, in one commit (under
   * the same locks as any write, so transactions stay serializable; listeners hear of it). A
   * document held already as it is stays untouched, so an import run again, or resumed, changes
   * nothing more. Commits after it are stamped after every imported update time.
   */
  async importDocuments(database: string, documents: ImportedDocument[]): Promise<Result<ImportResponse>> {
    return this.guard(() => {
      const newest = Math.max(0, ...documents.map((d) => d.updateTime));
      if (newest >= this.lastCommit) this.lastCommit = newest;
      const apply = (batch: CommitBatch): ImportResponse => {
        let written = 0;
        for (const d of documents) if (batch.restore(d.path, d.fields, d.createTime, d.updateTime)) written++;
        return { written, unchanged: documents.length - written };
      };
      const paths = documents.map((d) => d.path);
      return this.writeUnderLocks(database, null, paths, apply, (out) => out);
    });
  }

  async batchWrite(database: string, req: CommitRequest): Promise<Result<BatchWriteResponse>> {
    return this.guard(() => {
      const paths = req.writes.filter((w) => w.kind !== "verify").map((w) => w.path);
      const apply = (batch: CommitBatch) => {
        const writeResults: BatchWriteResponse["writeResults"] = [];
        const status: BatchWriteResponse["status"] = [];
        for (const write of req.writes) {
          try {
            writeResults.push(
              batch.applyIsolated(write, () =>
                this.access.checkWrites(
                  req.caller,
                  batch.written().filter((w) => w.path === write.path),
                  (p) => (batch.holds(p) ? batch.after(p) : undefined),
                ),
              ),
            );
            status.push({ code: Code.OK, message: "" });
          } catch (e) {
            if (!(e instanceof FirestoreError)) throw e;
            writeResults.push({});
            status.push(e.toData());
          }
        }
        return { writeResults, status };
      };
      return this.writeUnderLocks(database, null, paths, apply, (out, commitTime) => ({ ...out, commitTime }));
    });
  }

  async list(database: string, req: ListRequest): Promise<Result<ListResponse>> {
    return this.guard(() => {
      // A listing is a query of the collection (or of every collection under the parent).
      this.access.checkQuery(req.caller, {
        parent: req.parent,
        collectionId: req.collectionId === "" ? null : req.collectionId,
        allDescendants: false,
        orderBy: [],
        offset: 0,
        limit: req.pageSize,
      });
      return listDocuments(this, this.store, this.engine, database, req);
    });
  }

  async listCollectionIds(req: ListCollectionIdsRequest): Promise<Result<ListCollectionIdsResponse>> {
    return this.guard(async () => {
      this.access.serverOnly(req.caller, "Listing collection ids");
      // Only `readTime` selects a snapshot here (ListCollectionIdsRequest has no transaction).
      const snap = await this.snapshot(req.consistency, []);
      const ids = this.store.collectionIds(req.parent, {
        readTime: snap.readTime,
        afterId: req.after,
        limit: req.pageSize + 1,
      });
      const page = ids.slice(0, req.pageSize);
      return { collectionIds: page, next: ids.length > req.pageSize ? page[page.length - 1] : undefined };
    });
  }

  /**
   * Runs a query in its consistency mode. In a read-write transaction it runs under a predicate
   * lock (predicates.ts), so nothing it read, or would now read, changes before the commit.
   */
  private async executeQuery(
    database: string,
    req: RunQueryRequest,
    resolved?: ReadSnapshot,
    opts: Pick<RunOptions, "each" | "keep" | "wholeResults"> = {},
  ): Promise<{ result: QueryResult; snap: ReadSnapshot; durationMs: number; page?: RenderedPage }> {
    this.access.checkQuery(req.caller, req.query);
    const snap = resolved ?? (await this.snapshot(req.consistency, []));
    const started = performance.now();
    // Nothing committed since the read time: the present (and its indexes) is that snapshot.
    const readTime = snap.readTime !== undefined && snap.readTime < this.lastCommit ? snap.readTime : undefined;
    const paged = req.page && !req.explain ? req.page : undefined;
    const pageDocs = paged ? (paged.docs > 0 ? paged.docs : firstPageDocs(this.store, req.query, paged.maxBytes)) : 0;
    const query = paged ? { ...req.query, limit: Math.min(req.query.limit ?? pageDocs, pageDocs) } : req.query;
    const { result, page } = await this.readUnderPredicate(snap, predicateOf(query, 0), () => {
      const value = this.engine.run(query, database, readTime, {
        ...opts,
        fullScan: req.plan === "scan",
        maxBytes: paged?.maxBytes,
      });
      const page = paged ? renderPage(value, paged.maxBytes) : undefined;
      const read = page?.truncated ? { ...query, limit: value.docs.length } : query;
      return { value: { result: value, page }, predicate: () => this.predicateRead(read, value.docs, database) };
    });
    if (page && paged) page.next = nextPage(this.store, req.query, query, result, page, paged, snap.readTime);
    return { result, snap, durationMs: performance.now() - started, page };
  }

  /** The predicate a query that returned `docs` read (the last one re-read whole if projected). */
  private predicateRead(query: RunQueryRequest["query"], docs: readonly QueryDoc[], database: string) {
    let last = docs[docs.length - 1];
    if (last && query.projection !== undefined) {
      const row = this.store.getLatest(last.path);
      last = row ? { ...last, fields: JSON.parse(row.fields) as Fields } : undefined;
    }
    return predicateOf(query, docs.length, last && { ...last, name: `${database}/documents/${last.path}` });
  }

  async runQuery(database: string, req: RunQueryRequest): Promise<Result<RunQueryResponse>> {
    return this.guard(async () => {
      const { result, snap, durationMs, page } = await this.executeQuery(database, req);
      const planOnly = req.explain !== undefined && !req.explain.analyze;
      return {
        documents: planOnly
          ? []
          : result.docs.map((d, i) => ({
              path: d.path,
              fields: page?.json[i] ?? JSON.stringify(d.fields),
              createTime: d.createTime,
              updateTime: d.updateTime,
            })),
        skipped: planOnly ? 0 : Math.min(req.query.offset, result.skipped),
        readTime: snap.reportedReadTime,
        transaction: snap.newTransaction,
        explain: req.explain ? explainMetrics(result, req.explain.analyze, durationMs) : undefined,
        next: page?.next,
      };
    });
  }

  async runAggregationQuery(database: string, req: RunAggregationRequest): Promise<Result<RunAggregationResponse>> {
    return this.guard(async () => {
      this.access.checkQuery(req.caller, req.query);
      const snap = await this.snapshot(req.consistency, []);
      const counted = this.countFromIndex(req, snap);
      if (counted) return counted;
      // Without offset or limit, every selected document is added up as it is read, none kept.
      const aggregator = new Aggregator(req.aggregations);
      const streamed = req.query.offset === 0 && req.query.limit === undefined;
      const { result, durationMs } = await this.executeQuery(
        database,
        req,
        snap,
        streamed
          ? { each: (doc) => aggregator.add(doc) }
          : { keep: aggregatedFields(req.aggregations), wholeResults: false },
      );
      if (!streamed) for (const doc of result.docs) aggregator.add(doc);
      const planOnly = req.explain !== undefined && !req.explain.analyze;
      return {
        result: planOnly ? {} : aggregator.result(),
        readTime: snap.reportedReadTime,
        transaction: snap.newTransaction,
        explain: req.explain ? explainMetrics(result, req.explain.analyze, durationMs, true) : undefined,
      };
    });
  }

  /**
   * count() aggregations answered from index entries alone (no document reads) when the query
   * allows it: latest state, outside read-write transactions, see `QueryEngine.countOnly`.
   */
  private countFromIndex(req: RunAggregationRequest, snap: ReadSnapshot): RunAggregationResponse | null {
    if (req.plan === "scan" || !req.aggregations.every((a) => a.kind === "count")) return null;
    const atPresent = snap.readTime === undefined || snap.readTime >= this.lastCommit;
    if (!atPresent || (snap.tx && !snap.tx.readOnly)) return null;
    const upTo = Math.max(
      ...req.aggregations.map((a) => (a.kind === "count" && a.upTo !== undefined ? a.upTo : Infinity)),
    );
    const started = performance.now();
    const counted = this.engine.countOnly(req.query, upTo);
    if (!counted) return null;
    const planOnly = req.explain !== undefined && !req.explain.analyze;
    const result: Record<string, Value> = {};
    for (const a of req.aggregations) {
      const n = a.kind === "count" && a.upTo !== undefined ? Math.min(counted.count, a.upTo) : counted.count;
      Object.defineProperty(result, a.alias, { value: { integerValue: String(n) }, enumerable: true });
    }
    const stats = { docs: [], skipped: 0, stats: counted.stats };
    return {
      result: planOnly ? {} : result,
      readTime: snap.reportedReadTime,
      transaction: snap.newTransaction,
      explain: req.explain ? explainMetrics(stats, req.explain.analyze, performance.now() - started, true) : undefined,
    };
  }

  async partitionQuery(req: PartitionRequest): Promise<Result<PartitionResponse>> {
    return this.guard(() => {
      this.access.serverOnly(req.caller, "Partitioning a query");
      if (req.readTime !== undefined) this.checkReadTime(req.readTime);
      return partitionPoints(this.ctx.storage.sql, req);
    });
  }

  /** Loads security rules (refused with line and column when they do not parse), or removes them (null). */
  async setRules(source: string | null): Promise<Result<Record<string, never>>> {
    return this.guard(() => {
      this.access.setRules(source);
      this.watch.rulesChanged();
      return {};
    });
  }

  /** The security rules' source, or null. */
  async getRules(): Promise<Result<{ source: string | null }>> {
    return this.guard(() => ({ source: this.access.source() }));
  }

  /**
   * A page of this database as of `readTime`: documents in name order after `after` (a path), at
   * most `limit` and about EXPORT_PAGE_BYTES. The source side of a fork; `more` unless it is the end.
   */
  async exportPage(
    database: string,
    readTime: Micros,
    after: string | null,
    limit: number,
  ): Promise<Result<{ documents: ImportedDocument[]; more: boolean }>> {
    return this.guard(() => {
      this.checkReadTime(readTime);
      const query: NormalizedQuery = {
        parent: "",
        collectionId: null,
        allDescendants: true,
        orderBy: [{ field: ["__name__"], descending: false }],
        offset: 0,
        limit,
        ...(after === null
          ? {}
          : { startAt: { values: [{ referenceValue: `${database}/documents/${after}` }], before: false } }),
      };
      const result = this.engine.run(query, database, readTime, { maxBytes: EXPORT_PAGE_BYTES });
      const documents = result.docs.map((d) => ({
        path: d.path,
        fields: d.fields,
        createTime: d.createTime,
        updateTime: d.updateTime,
      }));
      return { documents, more: result.truncated === true || documents.length === limit };
    });
  }

  /** The read time a read would have now (a fork's, when it names none). */
  async currentReadTime(): Promise<Micros> {
    return this.readNow();
  }

  /**
   * Starts forking `source` (as of `readTime`, or now) into this database, `target`: refused unless
   * it is empty. The copy runs in the alarm (fork.ts); `forkStatus` tells how far it got.
   */
  async fork(target: ForkSource, source: ForkSource, readTime?: Micros): Promise<Result<ForkStatus>> {
    return this.guard(async () => {
      if (source.branch === target.branch && source.project === target.project && source.database === target.database) {
        throw invalidArgument("A database cannot be forked from itself.");
      }
      this.forks.checkCanStart(this.store.isEmpty());
      const at = readTime ?? (await this.sourceOf(source).currentReadTime());
      const status: ForkStatus = { state: "copying", source, target, readTime: at, copied: 0 };
      this.forks.set(status);
      this.scheduleSweep();
      return status;
    });
  }

  /** How the last fork into this database is doing (null: it never was one). */
  async forkStatus(): Promise<Result<ForkStatus | null>> {
    return this.guard(() => this.forks.get());
  }

  private sourceOf(source: ForkSource): DurableObjectStub<DatabaseDO> {
    return databaseStub(this.env as Env, { project: source.project, database: source.database }, source.branch);
  }

  /** One alarm's share of a fork: pages until FORK_RUN_MS have passed, then the next alarm goes on. */
  private async continueFork(): Promise<void> {
    let status = this.forks.get();
    if (status?.state !== "copying") return;
    const deadline = Date.now() + FORK_RUN_MS;
    const { source, target } = status;
    const stub = this.sourceOf(source);
    const sourceName = databaseName({ project: source.project, database: source.database });
    const targetName = databaseName({ project: target.project, database: target.database });
    while (Date.now() < deadline) {
      const page = await stub.exportPage(sourceName, status.readTime, status.after ?? null, FORK_PAGE_DOCUMENTS);
      if ("error" in page) {
        this.forks.set({ ...status, state: "failed", error: page.error.message });
        return;
      }
      const docs = page.ok.documents;
      const written = docs.length === 0 ? null : await this.importDocuments(targetName, docs);
      if (written !== null && "error" in written) {
        this.forks.set({ ...status, state: "failed", error: written.error.message });
        return;
      }
      status = {
        ...status,
        copied: status.copied + docs.length,
        ...(docs.length > 0 ? { after: (docs[docs.length - 1] as ImportedDocument).path } : {}),
      };
      if (!page.ok.more) {
        status = { ...status, state: "done" };
        this.forks.set(status);
        const from = `${source.branch}:${source.project}/${source.database}@${microsToTimestamp(status.readTime)}`;
        await registryStub(this.env as Env).record(target.branch, target.project, target.database, from);
        return;
      }
      this.forks.set(status);
    }
  }

  /**
   * Deletes everything this database holds, its rules and any fork state too, freeing its storage
   * (a deleted branch). Open streams are closed; what remains is an empty database.
   */
  async destroy(): Promise<Result<Record<string, never>>> {
    return this.guard(async () => {
      this.txns.clear();
      this.watch.resetAll();
      await this.ctx.storage.deleteAlarm();
      this.alarmAt = null;
      await this.ctx.storage.deleteAll();
      // The tables went with it: an empty schema again, and nothing remembered of the old rules or fork.
      this.ctx.storage.transactionSync(() => migrate(this.ctx.storage.sql));
      this.access.forget();
      this.forks.clear();
      return {};
    });
  }

  /** Empties the database (emulator `DELETE …/documents`). */
  async reset(): Promise<Result<Record<string, never>>> {
    return this.guard(() => {
      this.forks.clear();
      this.txns.clear();
      this.watch.resetAll();
      this.ctx.storage.transactionSync(() => this.store.clear());
      return {};
    });
  }

  /** A no-op round trip (benchmarks measure the bare RPC cost with it). */
  async ping(): Promise<number> {
    return this.lastCommit;
  }

  private async guard<T>(fn: () => T | Promise<T>): Promise<Result<T>> {
    try {
      return { ok: await fn() };
    } catch (e) {
      if (e instanceof FirestoreError) return { error: e.toData() };
      console.error("internal error", e);
      return { error: { code: Code.INTERNAL, message: `Internal error: ${(e as Error)?.message ?? String(e)}` } };
    }
  }
}
