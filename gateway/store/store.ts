// The repository interface. Callers see records, never SQL; SQLite implements it today and a
// PostgreSQL store (several gateway nodes on one database) implements the same interface later
// without touching callers. Every call is async so that store can talk to the network.
//
// What every implementation guarantees (test/contract/store-contract.ts checks each one):
// - Lookups resolve to undefined for "not there"; uniqueness violations reject with a `conflict`
//   PortcullisError, whatever the database calls them.
// - `transaction(fn)` runs fn atomically: all of its writes commit or none do (a rejection of fn
//   rolls back and rejects with the same error). Calls made inside fn, however deep in awaits, run
//   in that transaction; a nested `transaction` joins the outer one (no savepoints: an inner
//   failure fails the whole transaction once it reaches the outer fn). Calls from anywhere else
//   never see or join it. Never hold a transaction open across network I/O to a peer.
// - Concurrent transactions behave as if run one after the other and never fail for running at
//   the same time (callers have no retry logic): SQLite runs them one at a time; a shared
//   PostgreSQL can take a transaction-scoped advisory lock. A write that breaks a uniqueness rule
//   still rejects with `conflict`.
// - Operations documented as atomic (links.consume, audit.append, users.advanceTotpStep) stay
//   atomic with no transaction around them, under any number of concurrent callers, on one node
//   or several.
// It does not: cache, retry, or decide anything; the services in access/ decide.
import type {
  ApiTokenRecord, ApprovalRecord, AuditRow, DiscoveryFindingRecord, EphemeralAccountRecord, GrantRecord, MysqlConnectionRecord,
  LoginHandoffRecord, NodeRecord, PolicyRecord, RequestRecord, LinkRecord, RuleRecord, SessionFlagRecord, SessionRecord, SsoSessionRecord, TargetRecord, UserRecord,
} from './records.js';

export interface UserRepo {
  insert(u: UserRecord): Promise<void>;
  byName(name: string): Promise<UserRecord | undefined>;
  byId(id: string): Promise<UserRecord | undefined>;
  /** A single sign-on user by "ISSUER#SUBJECT" (unique). */
  byExternalId(externalId: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  /** Writes every field, except that totpLastStep never goes down (only advanceTotpStep moves it). */
  update(u: UserRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /**
   * Sets totpLastStep to `step` only if it is lower now; true if it did. Atomic, so one TOTP time
   * step is accepted once however many logins race with the same code.
   */
  advanceTotpStep(id: string, step: number): Promise<boolean>;
}

export interface TargetRepo {
  insert(t: TargetRecord): Promise<void>;
  byName(name: string): Promise<TargetRecord | undefined>;
  byId(id: string): Promise<TargetRecord | undefined>;
  list(): Promise<TargetRecord[]>;
  update(t: TargetRecord): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface PolicyRepo {
  insert(p: PolicyRecord): Promise<void>;
  byName(name: string): Promise<PolicyRecord | undefined>;
  byId(id: string): Promise<PolicyRecord | undefined>;
  list(): Promise<PolicyRecord[]>;
  /** Replaces the policy with this id in place (same id: grants standing on it stay bound to it). */
  update(p: PolicyRecord): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface RequestRepo {
  insert(r: RequestRecord): Promise<void>;
  byId(id: string): Promise<RequestRecord | undefined>;
  /** Oldest first. */
  list(filter: { status?: RequestRecord['status'] | undefined; userId?: string | undefined }): Promise<RequestRecord[]>;
  update(r: RequestRecord): Promise<void>;
  /** Pending requests whose pendingUntil is at or before `now`. */
  overdue(now: number): Promise<RequestRecord[]>;
}

export interface ApprovalRepo {
  insert(a: ApprovalRecord): Promise<void>;
  /** Oldest first. */
  forSubject(subjectId: string, kind: ApprovalRecord['kind']): Promise<ApprovalRecord[]>;
}

export interface GrantRepo {
  insert(g: GrantRecord): Promise<void>;
  byId(id: string): Promise<GrantRecord | undefined>;
  /** Grants not revoked with startsAt <= now < expiresAt, latest expiry first. */
  active(now: number, filter?: { userId?: string | undefined; targetId?: string | undefined }): Promise<GrantRecord[]>;
  /** Oldest first. */
  list(filter: { userId?: string | undefined }): Promise<GrantRecord[]>;
  update(g: GrantRecord): Promise<void>;
}

export interface TokenRepo {
  insert(t: ApiTokenRecord): Promise<void>;
  byHash(hash: string): Promise<ApiTokenRecord | undefined>;
  /** By the token's id (not secret: audit entries and SSH certificates' key ids name it). */
  byId(id: string): Promise<ApiTokenRecord | undefined>;
  /** Removes every token of the user (API tokens and web sessions alike); returns how many there were. */
  removeForUser(userId: string): Promise<number>;
  removeByHash(hash: string): Promise<void>;
  /** Removes one token by id; true if it existed. */
  removeById(id: string): Promise<boolean>;
  removeExpired(now: number): Promise<void>;
}

/** Single sign-ons and their refresh state (records.ts SsoSessionRecord). */
export interface SsoSessionRepo {
  insert(s: SsoSessionRecord): Promise<void>;
  byTokenId(tokenId: string): Promise<SsoSessionRecord | undefined>;
  /** Sign-ins last refreshed before `before` and not yet expired at `now`, oldest first, at most `limit`. */
  due(before: number, now: number, limit: number): Promise<SsoSessionRecord[]>;
  forUser(userId: string): Promise<SsoSessionRecord[]>;
  update(s: SsoSessionRecord): Promise<void>;
  remove(tokenId: string): Promise<void>;
  /** Forgets rows expired at `now`; returns how many. */
  removeExpired(now: number): Promise<number>;
}

export interface AuditRepo {
  /** The chain head (highest seq), undefined while the log is empty. */
  last(): Promise<AuditRow | undefined>;
  /**
   * Appends the row `next` builds from the current head. Atomic and serialized across every
   * caller (and, for a shared database, every node): no other append runs between reading the
   * head and inserting, so the hash chain stays one chain. `next` must be pure and quick.
   */
  append(next: (head: AuditRow | undefined) => AuditRow): Promise<AuditRow>;
  /** Rows in seq order starting after `afterSeq`. */
  page(afterSeq: number, limit: number): Promise<AuditRow[]>;
}

export interface SessionFilter {
  live?: boolean | undefined;
  userId?: string | undefined;
  targetId?: string | undefined;
  protocol?: string | undefined;
  endReason?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Only sessions with at least one flag. */
  flagged?: boolean | undefined;
  /** Only sessions whose risk score is at least this. */
  minScore?: number | undefined;
  /**
   * 'started' (default): newest first. 'score': highest risk score first, then newest; paging with
   * `before` is by start time only and is not combined with this order.
   */
  order?: 'started' | 'score' | undefined;
  /** Sessions started before this one (keyset paging by start time, then id). */
  before?: { startedAt: number; id: string } | undefined;
  /** Default 100, at most 1000. */
  limit?: number | undefined;
}

export interface SessionRepo {
  insert(s: SessionRecord): Promise<void>;
  /** Records the end once; a second call for an ended session changes nothing. */
  end(id: string, endedAt: number, reason: string): Promise<void>;
  byId(id: string): Promise<SessionRecord | undefined>;
  /** Newest first (started_at, then id, descending). */
  list(filter: SessionFilter): Promise<SessionRecord[]>;
  /** Ends every live session of `node` (a node found lost); returns their ids. */
  endForNode(node: string, endedAt: number, reason: string): Promise<string[]>;
  /**
   * Adds a flag and its weight to the session's risk score, atomically and once per
   * (session, kind, key): returns false (and changes nothing) for a flag the session already has.
   */
  addFlag(f: SessionFlagRecord): Promise<boolean>;
  /** The session's flags, oldest first. */
  flags(sessionId: string): Promise<SessionFlagRecord[]>;
}

export interface RuleRepo {
  /** Throws PortcullisError 'conflict' for a name in use. */
  insert(r: RuleRecord): Promise<void>;
  byName(name: string): Promise<RuleRecord | undefined>;
  /** Oldest first: the order rules are checked in. */
  list(): Promise<RuleRecord[]>;
  /** True when a rule was removed. */
  remove(name: string): Promise<boolean>;
}

export interface SearchEntry {
  sessionId: string;
  /** Seconds from the start of the session. */
  t: number;
  kind: 'input' | 'output' | 'sql';
  text: string;
}

export interface LinkRepo {
  insert(l: LinkRecord): Promise<void>;
  byId(id: string): Promise<LinkRecord | undefined>;
  byTokenHash(hash: string): Promise<LinkRecord | undefined>;
  bySshCodeHash(hash: string): Promise<LinkRecord | undefined>;
  /** Newest first. */
  list(): Promise<LinkRecord[]>;
  update(l: LinkRecord): Promise<void>;
  /**
   * Takes one use if the link is active, not revoked, unexpired and has uses left; true if taken.
   * Atomic: of N concurrent calls exactly min(N, uses left) resolve true.
   */
  consume(id: string, now: number): Promise<boolean>;
}

/** Logins approved in a browser (records.ts LoginHandoffRecord). */
export interface LoginHandoffRepo {
  /** Rejects with `conflict` for a taken id or secret hash. */
  insert(h: LoginHandoffRecord): Promise<void>;
  byId(id: string): Promise<LoginHandoffRecord | undefined>;
  /**
   * Moves a pending, unexpired (expiresAt > now) handoff to approved or denied by `userId`; true if
   * it did. Atomic: of any number of concurrent decisions, on any node, exactly one wins.
   */
  decide(id: string, state: 'approved' | 'denied', userId: string, now: number): Promise<boolean>;
  /**
   * Moves an approved, unexpired handoff whose secret hash is `secretHash` to consumed, recording
   * the token it issued (null: none); true if it did. Atomic: of concurrent pollers one wins.
   */
  consume(id: string, secretHash: string, now: number, tokenId: string | null): Promise<boolean>;
  /** Forgets handoffs that expired at or before `before`; returns how many. */
  removeExpired(before: number): Promise<number>;
}

export interface SearchRepo {
  /** All entries or none. */
  add(entries: SearchEntry[]): Promise<void>;
  /** Best matches first; `query` is plain words (each must occur, as a word prefix), not query syntax. */
  query(query: string, limit: number): Promise<SearchEntry[]>;
}

/**
 * A key that seals masked terminal input in recordings, itself sealed by the vault (master key).
 * Recordings hold only ciphertext under it; the store holds it only wrapped.
 */
export interface RecordingKeyRecord {
  id: string;
  sealed: string;
  createdAt: number;
}

export interface RecordingKeyRepo {
  /** Newest first. */
  list(): Promise<RecordingKeyRecord[]>;
  insert(k: RecordingKeyRecord): Promise<void>;
}

/** The intent log of ephemeral accounts (records.ts EphemeralAccountRecord). */
export interface EphemeralAccountRepo {
  /**
   * Writes the intent before the account exists on the target. Rejects with `conflict` when the
   * grant already has an account that is not dropped (one account per grant, on any number of nodes).
   */
  insert(a: EphemeralAccountRecord): Promise<void>;
  byId(id: string): Promise<EphemeralAccountRecord | undefined>;
  /** The grant's account that is not dropped, if any. */
  forGrant(grantId: string): Promise<EphemeralAccountRecord | undefined>;
  /** Every account not dropped yet (creating, active, dropping), oldest first: the reconciler's work list. */
  live(filter?: { targetId?: string | undefined }): Promise<EphemeralAccountRecord[]>;
  /** Newest first; dropped ones included. */
  list(filter: { targetId?: string | undefined; limit?: number | undefined }): Promise<EphemeralAccountRecord[]>;
  update(a: EphemeralAccountRecord): Promise<void>;
}

/** What discovery last found on each target (records.ts DiscoveryFindingRecord). */
export interface DiscoveryRepo {
  /** Newest first seen first; `targetId` narrows to one target. */
  list(filter: { targetId?: string | undefined }): Promise<DiscoveryFindingRecord[]>;
  /** The finding for this account on this target, gone or not. */
  byAccount(targetId: string, account: string): Promise<DiscoveryFindingRecord | undefined>;
  /** Inserts or replaces by id. */
  put(f: DiscoveryFindingRecord): Promise<void>;
  /** Removes every finding of a target (the target was removed). */
  removeForTarget(targetId: string): Promise<void>;
}

/** The gateway nodes of a cluster (records.ts NodeRecord). */
export interface NodeRepo {
  /**
   * Takes the name for this incarnation: inserts the row, or replaces it when the node holding the
   * name has left, was lost, or last beat before `staleBefore`. False when a live node holds it.
   * Atomic across nodes.
   */
  join(n: NodeRecord, staleBefore: number): Promise<boolean>;
  /** Records a heartbeat; false when this incarnation no longer holds the name (found lost, or replaced). */
  heartbeat(name: string, incarnation: string, now: number): Promise<boolean>;
  /**
   * Marks the node lost if this incarnation is still up and last beat before `staleBefore`; true
   * for exactly one caller however many nodes race (the one that then ends its sessions).
   */
  markLost(name: string, incarnation: string, staleBefore: number, now: number): Promise<boolean>;
  /** A clean shutdown: the name is free at once. */
  leave(name: string, incarnation: string, now: number): Promise<void>;
  byName(name: string): Promise<NodeRecord | undefined>;
  /** By name. */
  list(): Promise<NodeRecord[]>;
  /**
   * The store's own clock (ms), when it has one every node shares (PostgreSQL: the server's). Node
   * clocks may differ: heartbeats and staleness are then all written and judged in this one clock,
   * so a node whose clock runs ahead cannot find healthy peers lost. Absent: the caller's clock.
   */
  now?(): Promise<number>;
}

/** Once-per-cluster work: the first node to claim a key does the work (grant expiry, webhooks of timers). */
export interface ClaimRepo {
  /** True for exactly one caller per key, on any number of nodes. */
  claim(key: string, node: string, now: number): Promise<boolean>;
  /** Forgets claims made before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

/**
 * Cluster-wide settings and shared files (the CA, the SSH host key and the audit key, each sealed
 * by the master key, and the master key check). Small values only.
 */
export interface MetaRepo {
  get(key: string): Promise<string | undefined>;
  /** Stores the value unless the key has one; resolves to what is stored now (the first writer wins). */
  putIfAbsent(key: string, value: string): Promise<string>;
  /** Inserts or replaces. */
  put(key: string, value: string): Promise<void>;
}

/** Live MySQL connection ids of every node (records.ts MysqlConnectionRecord). */
export interface MysqlConnectionRepo {
  /** Rejects with `conflict` when the id is taken (on any node). */
  insert(c: MysqlConnectionRecord): Promise<void>;
  byId(id: number): Promise<MysqlConnectionRecord | undefined>;
  remove(id: number): Promise<void>;
  /** Forgets every id of a node (it was lost, or it starts again). */
  removeForNode(node: string): Promise<void>;
}

/**
 * Messages between the nodes sharing this store (PostgreSQL LISTEN/NOTIFY; SQLite: the stores open
 * on the same file in this process). Best effort and at most once: a listener that was
 * disconnected misses what was published meanwhile, so every user also reconciles from the store.
 */
export interface StoreNotifications {
  /** Delivers `payload` (at most 7,000 bytes of text) to every listener, the publisher's own included. */
  publish(payload: string): Promise<void>;
  /**
   * Calls `fn` for each payload until the returned stop function is called. `onState(false)` when
   * the connection that listens is lost (messages may be missed from then on), `onState(true)` when
   * listening again: the moment to reconcile.
   */
  listen(fn: (payload: string) => void, onState?: (listening: boolean) => void): Promise<() => Promise<void>>;
}

export interface SealedValue {
  /** target_pending: a target's pendingCredentialSealed (a rotation under way). */
  table: 'targets' | 'target_pending' | 'users' | 'recording_keys' | 'ephemeral_accounts';
  id: string;
  sealed: string;
}

export interface Store {
  readonly users: UserRepo;
  readonly targets: TargetRepo;
  readonly policies: PolicyRepo;
  readonly requests: RequestRepo;
  readonly approvals: ApprovalRepo;
  readonly grants: GrantRepo;
  readonly tokens: TokenRepo;
  readonly ssoSessions: SsoSessionRepo;
  readonly audit: AuditRepo;
  readonly sessions: SessionRepo;
  readonly search: SearchRepo;
  readonly links: LinkRepo;
  readonly handoffs: LoginHandoffRepo;
  readonly recordingKeys: RecordingKeyRepo;
  readonly ephemeral: EphemeralAccountRepo;
  readonly findings: DiscoveryRepo;
  readonly nodes: NodeRepo;
  readonly claims: ClaimRepo;
  readonly meta: MetaRepo;
  readonly mysqlConnections: MysqlConnectionRepo;
  readonly rules: RuleRepo;
  readonly notifications: StoreNotifications;
  /** 'sqlite': one node, embedded; 'postgres': shared by several nodes. */
  readonly kind: 'sqlite' | 'postgres';
  /** Every vault-sealed value (target credentials and pending rotations, TOTP secrets, recording keys, ephemeral secrets), for key rotation. */
  sealedValues(): Promise<SealedValue[]>;
  replaceSealed(v: SealedValue): Promise<void>;
  /** Runs fn atomically; nested calls join the outer transaction. See the contract above. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Waits for a running transaction, then releases the database. */
  close(): Promise<void>;
}
