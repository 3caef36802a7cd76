// The repository interface. Callers see records, never SQL; SQLite implements it today and a
// PostgreSQL store can implement it later without touching callers. Lookups return undefined
// for "not there"; uniqueness violations surface as `conflict` errors.
import type {
  ApiTokenRecord, ApprovalRecord, AuditRow, GrantRecord, PolicyRecord, RequestRecord,
  LinkRecord, SessionRecord, TargetRecord, UserRecord,
} from './records.js';

export interface UserRepo {
  insert(u: UserRecord): void;
  byName(name: string): UserRecord | undefined;
  byId(id: string): UserRecord | undefined;
  list(): UserRecord[];
  update(u: UserRecord): void;
  remove(id: string): void;
}

export interface TargetRepo {
  insert(t: TargetRecord): void;
  byName(name: string): TargetRecord | undefined;
  byId(id: string): TargetRecord | undefined;
  list(): TargetRecord[];
  update(t: TargetRecord): void;
  remove(id: string): void;
}

export interface PolicyRepo {
  insert(p: PolicyRecord): void;
  byName(name: string): PolicyRecord | undefined;
  byId(id: string): PolicyRecord | undefined;
  list(): PolicyRecord[];
  remove(id: string): void;
}

export interface RequestRepo {
  insert(r: RequestRecord): void;
  byId(id: string): RequestRecord | undefined;
  list(filter: { status?: RequestRecord['status']; userId?: string }): RequestRecord[];
  update(r: RequestRecord): void;
  /** Pending requests whose pendingUntil is at or before `now`. */
  overdue(now: number): RequestRecord[];
}

export interface ApprovalRepo {
  insert(a: ApprovalRecord): void;
  forSubject(subjectId: string, kind: ApprovalRecord['kind']): ApprovalRecord[];
}

export interface GrantRepo {
  insert(g: GrantRecord): void;
  byId(id: string): GrantRecord | undefined;
  /** Grants not revoked with startsAt <= now < expiresAt. */
  active(now: number, filter?: { userId?: string; targetId?: string }): GrantRecord[];
  list(filter: { userId?: string }): GrantRecord[];
  update(g: GrantRecord): void;
}

export interface TokenRepo {
  insert(t: ApiTokenRecord): void;
  byHash(hash: string): ApiTokenRecord | undefined;
  removeForUser(userId: string): void;
  removeByHash(hash: string): void;
  removeExpired(now: number): void;
}

export interface AuditRepo {
  last(): AuditRow | undefined;
  insert(row: AuditRow): void;
  /** Rows in seq order starting after `afterSeq`. */
  page(afterSeq: number, limit: number): AuditRow[];
}

export interface SessionFilter {
  live?: boolean;
  userId?: string;
  targetId?: string;
  protocol?: string;
  endReason?: string;
  since?: number;
  until?: number;
  /** Sessions started before this one (keyset paging by start time, then id). */
  before?: { startedAt: number; id: string };
  limit?: number;
}

export interface SessionRepo {
  insert(s: SessionRecord): void;
  end(id: string, endedAt: number, reason: string): void;
  byId(id: string): SessionRecord | undefined;
  list(filter: SessionFilter): SessionRecord[];
}

export interface SearchEntry {
  sessionId: string;
  /** Seconds from the start of the session. */
  t: number;
  kind: 'input' | 'output' | 'sql';
  text: string;
}

export interface LinkRepo {
  insert(l: LinkRecord): void;
  byId(id: string): LinkRecord | undefined;
  byTokenHash(hash: string): LinkRecord | undefined;
  bySshCodeHash(hash: string): LinkRecord | undefined;
  list(): LinkRecord[];
  update(l: LinkRecord): void;
  /** Takes one use if the link is active, not revoked, unexpired and has uses left; true if taken. Atomic. */
  consume(id: string, now: number): boolean;
}

export interface SearchRepo {
  add(entries: SearchEntry[]): void;
  /** Best matches first; `query` is plain words (each must occur), not FTS syntax. */
  query(query: string, limit: number): SearchEntry[];
}

export interface SealedValue {
  table: 'targets' | 'users';
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
  readonly audit: AuditRepo;
  readonly sessions: SessionRepo;
  readonly search: SearchRepo;
  readonly links: LinkRepo;
  /** Every vault-sealed value, for key rotation. */
  sealedValues(): SealedValue[];
  replaceSealed(v: SealedValue): void;
  /** Runs fn atomically; nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T;
  close(): void;
}
