// Record builders for the store contract suite: complete, valid records with unique ids and names,
// overridable per test. They hold no secrets (sealed fields are placeholders) and touch no store.
import type {
  GrantRecord, LinkRecord, PolicyRecord, RequestRecord, RuleRecord, SessionFlagRecord, SessionRecord, TargetRecord, UserRecord,
} from '../../gateway/store/records.js';

let n = 0;
const next = (prefix: string): string => `${prefix}_${(++n).toString().padStart(6, '0')}`;

export function aUser(over: Partial<UserRecord> = {}): UserRecord {
  const id = next('usr');
  return {
    id, name: `user-${id}`, kind: 'human', roles: ['ops'], passwordHash: null, scramVerifier: null, nativeVerifier: null, mysqlNative: false,
    sshKeys: [], totpSealed: null, totpLastStep: 0, disabled: false, createdAt: 1_000, source: 'local', externalId: null, ...over,
  };
}

export function aTarget(over: Partial<TargetRecord> = {}): TargetRecord {
  const id = next('tgt');
  return {
    id, name: `target-${id}`, kind: 'ssh', host: '127.0.0.1', port: 22, account: 'root', credentialKind: 'password',
    credentialSealed: `sealed:${id}`, hostKey: null, database: null, tlsMode: 'disable', tlsCaPem: null, tlsFingerprint: null, allowWeakUpstreamAuth: false, rsaKeyFingerprint: null, tags: ['prod'], credentialMode: 'static', levels: [{ name: 'default', grants: [] }], rotate: 'off', ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 1_000, ...over,
  };
}

export function aPolicy(over: Partial<PolicyRecord> = {}): PolicyRecord {
  const id = next('pol');
  return {
    id, name: `policy-${id}`, roles: ['ops'], targets: ['*'], targetTags: [], maxDurationMs: 3_600_000, requireReason: true,
    ticketPattern: null, approvalsRequired: 1, approverRoles: ['approver'],
    autoApprove: { roles: ['ops'], days: [1, 2], fromHour: 9, toHour: 17, onCall: ['alice'] }, breakglass: false,
    recordKeystrokes: true, allowPortForwarding: false, captureFullOutput: false, recordingRequired: true, allowLinks: false, levels: [],
    ticketCheck: null, window: null, createdAt: 1_000, ...over,
  };
}

export function aRequest(userId: string, targetId: string, policyId: string, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: next('req'), userId, targetId, policyId, durationMs: 1_800_000, level: 'default', reason: 'deploy', ticket: 'INC-1', status: 'pending',
    createdAt: 1_000, pendingUntil: 10_000, decidedAt: null, decidedBy: null, denyReason: null, grantId: null, autoApproved: false, ticketCheck: null, ...over,
  };
}

export function aGrant(userId: string, targetId: string, over: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id: next('grt'), userId, targetId, requestId: null, policyId: null, source: 'admin', level: 'default', startsAt: 1_000, expiresAt: 5_000,
    reason: 'fix', ticket: null, approvers: [], revokedAt: null, revokedBy: null, revokeReason: null, needsReview: false,
    reviewedBy: null, reviewedAt: null, dbVerifier: null, createdAt: 1_000, ...over,
  };
}

export function aSession(targetId: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: next('ses'), protocol: 'ssh', userId: null, targetId, grantId: null, level: null, clientAddr: '127.0.0.1', startedAt: 1_000,
    endedAt: null, endReason: null, recording: null, node: null, riskScore: 0, ...over,
  };
}

export function aLink(targetId: string, issuerId: string, over: Partial<LinkRecord> = {}): LinkRecord {
  const id = next('lnk');
  return {
    id, tokenHash: `t${id}`.padEnd(64, '0'), sshCodeHash: `s${id}`.padEnd(64, '0'), targetId, issuerId, policyId: null, label: 'vendor',
    createdAt: 1_000, expiresAt: 100_000, usesLeft: 1, uses: 0, sessionMaxMs: 3_600_000, level: 'default', status: 'active', approvedBy: null,
    revokedAt: null, revokedBy: null, ...over,
  };
}

export function aRule(over: Partial<RuleRecord> = {}): RuleRecord {
  const id = next('rul');
  return {
    id, name: `rule-${id}`, kind: 'sql', class: 'drop', match: null, action: 'deny', targets: [], roles: [], levels: [], message: null,
    unparsable: 'deny', createdAt: 1_000, createdBy: 'admin', ...over,
  };
}

export function aFlag(sessionId: string, over: Partial<SessionFlagRecord> = {}): SessionFlagRecord {
  const id = next('flg');
  return { id, sessionId, kind: 'rule', key: `key-${id}`, detail: 'DROP TABLE orders', weight: 10, at: 1_500, ...over };
}
