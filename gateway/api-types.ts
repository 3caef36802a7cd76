// The HTTP API's shapes, declared once for both ends: the server builds its answers to these types
// (access/views.ts, http/ routes, player windows, the live view, the vendor terminal) and the
// browser bundle (web-player/) reads them with `import type`. Types only — no imports, no runtime
// code — so the browser build pulls nothing from the server and this module depends on nothing;
// eslint.config.js enforces both. Field names are the API's: snake_case per DESIGN.md §3, times as
// ISO strings, never a secret. Recording formats are not here: recorder/ owns them.

/** Every refusal: an HTTP status with a stable code (see util/errors.ts) and a sentence. */
export interface ApiErrorBody { error: { code: string; message: string } }

// ---- Resources (GET /api/v1/users, targets, policies, requests, grants, sessions, links) ----

/** `source`: 'local' (made by an admin or setup) or 'oidc' (made by a single sign-on, roles from the provider's groups). */
export interface UserView { id: string; name: string; kind: string; source: string; roles: string[]; totp: boolean; mysql_native_password: boolean; ssh_keys: number; disabled: boolean; created_at: string }

/**
 * POST /api/v1/users/:name/password. An admin's reset of another user: `updated` and how many of
 * that user's tokens and web sessions ended. One's own change: how many ended besides the caller's,
 * and the fresh token that replaces the caller's (a browser gets a new cookie and WebMe instead).
 */
export interface PasswordChanged { updated: string; tokens_revoked: number; token?: string; expires_at?: string }

export interface TargetView {
  id: string; name: string; kind: string; host: string; port: number; account: string; credential: string;
  host_key: string | null; database: string | null; tls: string;
  /** Subjects of the target's own CA certificates (null: the system CAs). */
  tls_ca: string | null;
  /** The pinned leaf certificate, "sha256:<hex>", or null. */
  tls_fingerprint: string | null;
  allow_weak_upstream_auth: boolean; mysql_rsa_fingerprint: string | null;
  tags: string[]; created_at: string;
  /** Issue 15: static (sessions log in as `account`) or ephemeral (`account` is a provisioner; each grant gets its own account). */
  credential_mode: 'static' | 'ephemeral';
  /** Least privileged first: the roles (databases) or Unix groups (ssh) each level grants. */
  levels: Array<{ name: string; grants: string[] }>;
  rotate: 'after-session' | 'daily' | 'off'; rotated_at: string | null;
  ephemeral_reassign_to: string | null; keep_home: boolean;
}

/** POST /api/v1/fetch-cert: what a database server presented, to confirm before pinning. */
export interface CertificateView {
  subject: string; issuer: string; sans: string[]; valid_from: string; valid_to: string; fingerprint: string;
  /** The chain verifies against the system CAs (or the tls_ca sent); `name_matches`: it is for the host asked. */
  trusted: boolean; chain_error: string | null; name_matches: boolean;
}

/**
 * A target as users who do not manage targets see it (GET /api/v1/targets for non-admins): its
 * name and kind, never where it is or what it logs in as. `requestable`: a policy lets this user
 * request it; `breakglass`: one of those allows break-glass; `granted`: the user holds an active grant.
 */
export interface TargetSummaryView {
  name: string; kind: string; tags: string[]; requestable: boolean; breakglass: boolean; granted: boolean;
  /** The target's level names, least privileged first (what `--level` may name); not what they grant. */
  levels: string[];
}

/**
 * A policy's auto-approval rule, as stored (weekdays 0 = Sunday). `window` is the time condition as
 * written ("mon-fri 09:00-17:00 Europe/Berlin"; null: any time); days and UTC hours mirror it where they can.
 */
export interface AutoApproveView { roles: string[]; days: number[]; fromHour: number | null; toHour: number | null; onCall: string[]; window: string | null }

/** The ticket system's answer kept with a request (issue 18). */
export interface TicketCheckView { valid: boolean; reason: string | null; url: string; checked_at: string }

export interface PolicyView {
  id: string; name: string; roles: string[]; targets: string[]; target_tags: string[]; max_duration_s: number;
  require_reason: boolean; ticket_pattern: string | null; approvals_required: number; approver_roles: string[];
  auto_approve: AutoApproveView | null; breakglass: boolean; record_keystrokes: boolean; allow_port_forwarding: boolean;
  capture_full_output: boolean; recording_required: boolean; allow_links: boolean;
  /** Levels covered; empty: every level. */
  levels: string[];
  /** The ticket system's endpoint that must confirm each request's ticket; null: none. */
  ticket_check: string | null;
  /** When grants under it may be used ("mon-fri 09:00-17:00 Europe/Berlin"); null: any time. */
  window: string | null;
}

/** GET /api/v1/rules: a guardrail rule (DESIGN 3d). Exactly one of `class` and `match` is set. */
export interface RuleView {
  id: string; name: string; kind: 'sql' | 'command'; class: string | null; match: string | null; action: 'deny' | 'flag';
  /** Target names and `tag:NAME` entries; empty: every target of the rule's kind. */
  targets: string[];
  /** Empty: every role. */
  roles: string[];
  /** Empty: every level. */
  levels: string[];
  /** Shown to the user on deny; null: "blocked by rule NAME". */
  message: string | null;
  /** What a statement the parser cannot read does under this rule. */
  unparsable: 'deny' | 'allow';
  created_at: string; created_by: string;
}

/** POST /api/v1/rules: the rule as stored, and what was accepted but may not be what was meant. */
export interface RuleAddedView extends RuleView { warnings: string[] }

export interface RequestView {
  id: string; user: string; target: string; policy: string; duration_s: number; reason: string; ticket: string | null;
  status: string; created_at: string; pending_until: string; decided_at: string | null; decided_by: string | null;
  deny_reason: string | null; grant: string | null; auto_approved: boolean; approvals: string[]; level: string;
  /** The ticket system's answer when the policy checks tickets; null otherwise. */
  ticket_check: TicketCheckView | null;
}

export interface GrantView {
  id: string; user: string; target: string; source: string; starts_at: string; expires_at: string; reason: string;
  ticket: string | null; approvers: string[]; revoked_at: string | null; revoked_by: string | null; revoke_reason: string | null;
  needs_review: boolean; reviewed_by: string | null; request: string | null; status: 'active' | 'expired' | 'revoked' | 'scheduled';
  level: string;
}

export interface SessionView {
  id: string; protocol: string; user: string | null; target: string; grant: string | null; client_addr: string;
  started_at: string; ended_at: string | null; end_reason: string | null; live: boolean;
  /** For a session opened through a one-time link: which link, its label and who issued it. */
  link: { id: string; label: string; issuer: string } | null;
  /** The access level the session ran at (null: recorded before levels existed). */
  level: string | null;
  /** The gateway node that brokers (brokered) it; null: recorded before several nodes. */
  node: string | null;
  /** Sum of its flags' weights (gateway/risk/); 0 when it has none. */
  risk_score: number;
  /** Why it is risky, oldest first (empty when the score is 0). */
  flags: SessionFlagView[];
}

export interface SessionFlagView {
  kind: string; key: string; detail: string; weight: number; at: string;
}

/** GET /api/v1/sessions/:id: the session and the files of its recording. */
export interface SessionDetail extends SessionView { recording: Array<{ file: string; bytes: number }> }

/** GET /api/v1/search: one hit, `t` seconds since the session started. */
/** The masked spans of one terminal channel (GET /api/v1/sessions/:id/masked?channel=N); no text. */
export interface MaskedSpanList {
  channel: number;
  spans: Array<{ span: number; t: number; pieces: number }>;
  /** More spans exist than were listed (the list stops at a limit; reveal still reaches them by time). */
  more: boolean;
  /** Sealed events that could not be read (damaged lines). */
  unreadable: number;
}

/** A sealed masked-input span, decrypted for an admin (POST /api/v1/sessions/:id/reveal). */
export interface RevealedSpan {
  session: string;
  channel: number;
  /** The span's number in its channel (1 = the first masked input). */
  span: number;
  /** When the span started, in seconds of the channel's recording. */
  t: number;
  /** The keystrokes exactly as typed (may hold escape sequences: never write it to a terminal raw). */
  text: string;
  /** The same with control characters as visible escapes and a line break after each Enter: show this. */
  visible: string;
  /** Plaintext bytes of the whole span (more than `text` holds when `truncated`). */
  bytes: number;
  truncated: boolean;
  /** Piece numbers absent from the record (a recording cut short). */
  missing: number[];
}

export interface SearchHit {
  session: string; t: number; kind: string; text: string; protocol: string | null; user: string | null; target: string | null;
}

/** Never the token: it is shown once, at creation (LinkCreated). */
export interface LinkView {
  id: string; target: string; issuer: string; label: string; created_at: string; expires_at: string; uses: number; uses_left: number;
  session_max_s: number; status: 'pending' | 'active' | 'used' | 'expired' | 'revoked'; approved_by: string | null; revoked_by: string | null;
  level: string;
}

/** POST /api/v1/links: the link and, this once, its URL. */
export interface LinkCreated extends LinkView { url: string }

// ---- Logins approved in the browser (gateway/http/routes/logins.ts) ----

/** POST /api/v1/logins: the approval URL and code to show, and the secret to poll with (this once). */
export interface LoginBegun { id: string; url: string; code: string; poll_secret: string; expires_at: string }

/** POST /api/v1/logins/:id/poll: the API token once approved (to the first poll only). */
export type LoginPoll =
  | { state: 'pending' | 'denied' | 'expired' | 'consumed' }
  | { state: 'approved'; token: string; user: string; roles: string[]; expires_at: string | null };

/** GET /api/v1/logins/:id: what the approver is asked. `from`: the address it was begun from. */
export interface LoginView {
  id: string; kind: 'cli' | 'ssh'; state: 'pending' | 'approved' | 'denied' | 'consumed' | 'expired'; code: string; from: string;
  /** Begun from the address this browser comes from (a phished link usually is not). */
  same_address: boolean; expires_at: string; ssh_user: string | null; ssh_target: string | null;
}

// ---- Discovery of privileged accounts (POST /api/v1/targets/:name/discover, GET /api/v1/discovery) ----

/**
 * A privileged account on a target. `managed`: Portcullis manages it (DESIGN.md 3b contract);
 * `managed_as` says why (or, for an ephemeral account whose grant is over, why no longer). `new`
 * (discover runs only): not seen before, or seen gone and back. `gone_at` (stored findings only):
 * the latest run no longer found it.
 */
export interface DiscoveryFindingView {
  target: string;
  account: string;
  privileges: string[];
  managed: boolean;
  managed_as: string | null;
  first_seen_at: string;
  last_seen_at: string;
  gone_at: string | null;
  new?: boolean;
}

// ---- The web console's sign-in (POST /api/v1/web/login, GET /api/v1/web/me) ----

/** Who is signed in, and the CSRF token the page must send with every state change. */
export interface WebMe { user: string; roles: string[]; csrf: string }

// ---- The terminal player (GET /api/v1/sessions/:id/terminal) ----

/** An asciicast v2 event: seconds since start, code ("o", "i", "r", "m", …), data. */
export type CastEvent = [number, string, string];

/** An asciicast v2 header; writers may add keys, readers ignore what they do not know. */
export interface CastHeaderView { version: 2; width: number; height: number; timestamp?: number; [key: string]: unknown }

export interface MarkerView { t: number; label: string }

/** A window of a recording: the keyframe at or before `from`, then the events up to `from + span`. */
export interface PlayerWindow {
  header: CastHeaderView;
  duration: number;
  /** The recording ends abruptly (the gateway stopped while recording). */
  truncated: boolean;
  markers: MarkerView[];
  keyframe: { t: number; cols: number; rows: number; snapshot: string };
  events: CastEvent[];
  /** Where the next window starts (null at the end). */
  next: number | null;
}

// ---- The live view (WebSocket /api/v1/sessions/:id/live, gateway → browser, JSON text frames) ----

export type LiveFrame =
  | { type: 'header'; channel: number; header: CastHeaderView | null }
  | { type: 'event'; channel: number; event: CastEvent }
  | { type: 'end' };

// ---- A vendor's one-time link (POST /api/v1/l/info, /api/v1/l/open, WebSocket /api/v1/l/terminal) ----

export interface LinkInfo {
  label: string; target: string; issuer: string; expires_at: string; session_max_s: number; uses_left: number;
  recorded: boolean; resumable: boolean;
  /** The one-time SSH login that uses up the link the same way. */
  ssh: string;
}

export interface LinkOpened { terminal: string; resumed: boolean }

/** Browser → gateway on the vendor terminal (text frames of JSON). */
export type TerminalClientMessage =
  | { type: 'input'; data: string }
  | { type: 'resize'; cols: number; rows: number };

/** Gateway → browser notices on the vendor terminal (text frames); binary frames are terminal output. */
export type TerminalNotice =
  | { type: 'notice'; message: string }
  | { type: 'end'; reason: string; message: string }
  | { type: 'error'; code: string; message: string };

/**
 * An ephemeral account (`portcullis ephemeral list`, GET /api/v1/ephemeral-accounts); never its
 * secret. `state` abandoned: Portcullis stopped tracking an account that may still exist on the target.
 */
export interface EphemeralAccountView {
  id: string; account: string; target: string; grant: string; user: string; level: string;
  state: 'creating' | 'active' | 'dropping' | 'dropped' | 'abandoned';
  created_at: string; expires_at: string; dropped_at: string | null; drop_attempts: number; last_error: string | null;
}

/** A gateway node of the cluster (`GET /api/v1/nodes`, `portcullis node list`). */
export interface NodeView {
  name: string;
  state: 'up' | 'left' | 'lost';
  version: string;
  started_at: string;
  last_heartbeat: string;
  /** Seconds since the last heartbeat, as the answering node's clock sees it. */
  heartbeat_age_s: number;
  ended_at: string | null;
  /** Whether this is the node that answered. */
  self: boolean;
}

// ---- Self-service (GET /api/v1/catalog, GET /api/v1/me/access, POST /api/v1/grants/:id/give-back) ----

/** A policy's access window as stored (the tickets part formats and enforces it): weekdays 0-6, minutes of the day, IANA zone. */
export interface CatalogWindowView { days: number[]; from_minute: number | null; to_minute: number | null; zone: string }

/** One covering policy of a catalog entry, as a request would meet it. Never the ticket check's URL (it may hold a key). */
export interface CatalogPolicyView {
  name: string;
  max_duration_s: number;
  require_reason: boolean;
  /** A request needs a ticket matching `ticket_pattern` (a regular expression) when it is not null. */
  ticket_pattern: string | null;
  /** The ticket is also confirmed with the ticket system when the request is made. */
  ticket_check: boolean;
  /** When grants under this policy may be used; null: any time. */
  window: CatalogWindowView | null;
  /** Granted without an approver if requested now (no approvals needed, or the auto-approval conditions hold now). */
  auto_now: boolean;
  approvals_required: number;
  approver_roles: string[];
  /** The auto-approval conditions as written on the policy (roles, days, hours, on call); null: none. */
  auto_approve: AutoApproveView | null;
}

/**
 * A (target, level) the caller may request. `policies` are in the order a request tries them: the
 * first whose max_duration_s is at least the duration asked for is the one the request stands on.
 */
export interface CatalogEntryView {
  target: string; kind: string; tags: string[]; level: string;
  /** The level is the target's first (least privileged): `USER+TARGET` without a level reaches it. */
  default_level: boolean;
  max_duration_s: number;
  policies: CatalogPolicyView[];
}

/** How to connect with an active grant: the line to copy, and where its password comes from. */
export interface ConnectLineView { command: string; password: string }

export interface MyGrantView extends GrantView {
  kind: string;
  seconds_left: number;
  connect: ConnectLineView;
  /** Who may extend it (an extension is a new approval, never the grantee's own). */
  extend: { approver_roles: string[]; max_s: number | null };
}

export interface MyPendingRequestView extends RequestView {
  /** Who must approve: the policy's approver roles (admins too), how many, and some names. */
  approvers: { roles: string[]; needed: number; names: string[] };
}

export interface MyAccessView {
  user: string;
  now: string;
  grants: MyGrantView[];
  pending: MyPendingRequestView[];
  sessions: SessionView[];
}
