// What the HTTPS API and its WebSocket endpoints may use: the access, audit, session and vault
// services, each narrow, and never the store. The composition root's App satisfies this shape; the
// API is handed the App typed as ApiServices, so a route that reaches for `store` does not compile.
import type { Authenticator } from '../access/authn.js';
import type { BreakglassService } from '../access/breakglass.js';
import type { GrantService } from '../access/grants.js';
import type { LinkService } from '../access/links.js';
import type { HandoffService } from '../identity/handoffs.js';
import type { PolicyService } from '../access/policies.js';
import type { RequestService } from '../access/requests.js';
import type { TargetService } from '../access/targets.js';
import type { UserService } from '../access/users.js';
import type { SshCertificateService } from '../access/ssh-certificates.js';
import type { SetupService } from '../access/setup.js';
import type { RotationService } from '../provision/rotation.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config/config.js';
import type { DataPaths } from '../config/data-dir.js';
import type { Logger } from '../log/logger.js';
import type { LiveSessions } from '../session/live-sessions.js';
import type { SessionCatalog } from '../session/session-catalog.js';
import type { MaskedInputReveals } from '../session/masked-reveal.js';
import type { Clock } from '../util/clock.js';
import type { CredentialVault } from '../vault/credential-vault.js';
import type { EphemeralService } from '../provision/ephemeral-service.js';
import type { DiscoveryService } from '../provision/discovery.js';
import type { ClusterSessions } from '../cluster/cluster-sessions.js';
import type { NodeDirectory } from '../cluster/node-directory.js';
import type { RuleService } from '../rules/rule-service.js';
import type { SsoService } from '../identity/sso-service.js';

export interface ApiServices {
  readonly config: Pick<Config, 'api' | 'http' | 'publicUrl'>;
  readonly paths: Pick<DataPaths, 'recordings'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly audit: AuditLog;
  readonly creds: CredentialVault;
  readonly users: UserService;
  readonly authn: Authenticator;
  /** Single sign-on through the identity provider (routes/sso.ts). */
  readonly sso: Pick<SsoService, 'info' | 'start' | 'finish'>;
  /** SSH user certificates for a signed-in user's key; the user CA's and host key's public lines. */
  readonly sshCerts: Pick<SshCertificateService, 'issue' | 'userCaLine' | 'hostKeyLine'>;
  /** First run: the one-time setup link that creates the first human admin. */
  readonly setup: Pick<SetupService, 'check' | 'otpauth' | 'complete'>;
  readonly targets: TargetService;
  /** `target rotate`: replaces a static credential on the target now. */
  readonly rotation: Pick<RotationService, 'rotate'>;
  readonly policies: PolicyService;
  /** Guardrail rules: checked, stored, audited, and every node told. */
  readonly rules: Pick<RuleService, 'add' | 'remove' | 'list'>;
  readonly requests: RequestService;
  readonly grants: GrantService;
  readonly breakglass: BreakglassService;
  readonly links: LinkService;
  /** Logins approved in a signed-in browser (CLI `login --sso`, SSH keyboard-interactive). */
  readonly handoffs: Pick<HandoffService, 'begin' | 'view' | 'approve' | 'deny' | 'poll'>;
  readonly live: LiveSessions;
  /** Sessions of every node: the live list, and killing a session that runs on another node. */
  readonly cluster: { readonly sessions: Pick<ClusterSessions, 'listLive' | 'kill'> };
  /** Recorded sessions: list, search, lookup. */
  readonly sessions: SessionCatalog;
  /** Sealed masked input, decrypted for an admin and audited. */
  readonly reveals: Pick<MaskedInputReveals, 'reveal' | 'list'>;
  /** Where users reach the gateway; read per request because serve sets it once the ports are bound. */
  readonly addresses: { url: string; sshHost: string; sshPort: number; pgPort: number; mysqlPort: number };
  readonly metrics: { render(): string };
  /** Ephemeral accounts, for the admin's listing. */
  readonly ephemeral: Pick<EphemeralService, 'list'>;
  /** Privileged accounts on targets: run discovery, read stored findings. */
  readonly discovery: Pick<DiscoveryService, 'discover' | 'findings'>;
  /** The cluster's nodes (store.nodes), for `node list`. */
  readonly nodeDirectory: Pick<NodeDirectory, 'list'>;
  readonly counters: { http: (l: Record<string, string>) => void; authFailures: () => void };
}
