// Structured JSON logs (pino). Messages are constants so they can be searched and alerted on.
// Fields that could ever hold a secret are redacted by path as a second line of defence; the first
// is that no secret is passed to a logger at all.
import pino from 'pino';

export type Logger = pino.Logger;

export const LOG = {
  serveStarted: 'serve.started',
  vaultCredentialsUnbound: 'vault.credentials_unbound',
  serveStopping: 'serve.stopping',
  serveStopped: 'serve.stopped',
  httpRequest: 'http.request',
  httpError: 'http.error',
  httpBadRequest: 'http.bad_request',
  httpTlsFailed: 'http.tls_failed',
  httpNoRequest: 'http.closed_without_request',
  httpConnectionClosed: 'http.connection_closed',
  webhookDelivered: 'webhook.delivered',
  webhookFailed: 'webhook.failed',
  timerFailed: 'timer.failed',
  eventHandlerFailed: 'event.handler_failed',
  clusterMessageDropped: 'cluster.message_dropped',
  clusterHandlerFailed: 'cluster.handler_failed',
  // Protocol paths across nodes (gateway/cluster/pg-cancels.ts, mysql-connection-directory.ts, http/live-view-remote.ts).
  pgCancelRelayLimited: 'pg.cancel_relay_limited',
  pgCancelRelayFailed: 'pg.cancel_relay_failed',
  pgCancelRelayForwarded: 'pg.cancel_relay_forwarded',
  mysqlConnectionIdUnshared: 'mysql.connection_id_unshared',
  mysqlConnectionIdsNotCleared: 'mysql.connection_ids_not_cleared',
  auditFailed: 'audit.append_failed',
  auditCheckpointFailed: 'audit.checkpoint_failed',
  auditCheckpointTornTail: 'audit.checkpoint_torn_tail_cut',
  auditStoreBehindCheckpoint: 'audit.store_behind_checkpoint',
  sessionStartFailed: 'session.start_failed',
  sessionWarned: 'session.warned',
  sessionClosed: 'session.closed',
  sessionsCrashRecovered: 'session.crash_recovered',
  sessionCrashRecoveryFailed: 'session.crash_recovery_failed',
  // The session pipeline (gateway/session/).
  credentialRevokeFailed: 'credential.revoke_failed',
  recordingFailed: 'recording.failed',
  upstreamWeakAuth: 'upstream.weak_auth',
  recordingSealFailed: 'recording.seal_failed',
  recordingStopped: 'recording.stopped',
  recordingsSpaceLow: 'recordings.space_low',
  recordingsSpaceRestored: 'recordings.space_restored',
  sessionRefusedSpace: 'session.refused_space',
  postCloseFailed: 'post_close.failed',
  postCloseMarkerFailed: 'post_close.marker_failed',
  postCloseDeferred: 'post_close.deferred',
  postCloseRecovered: 'post_close.recovered',
  postCloseLeftForNextStart: 'post_close.left_for_next_start',
  sessionAdapterError: 'session.adapter_error',
  sessionInputCap: 'session.input_cap_exceeded',
  sessionAdapterReported: 'session.adapter_reported',
  sessionCloseFailed: 'session.close_failed',
  sessionConnectError: 'session.connect_error',
  sessionCredentialFailed: 'session.credential_failed',
  sessionSealerUnavailable: 'session.sealer_unavailable',
  sessionGated: 'session.gated',
  sessionReauthorizeFailed: 'session.reauthorize_failed',
  sessionJournalFailed: 'session.journal_failed',
  sessionPipelineError: 'session.pipeline_error',
  sessionRefuseFailed: 'session.refuse_failed',
  // Ephemeral accounts (gateway/provision/).
  ephemeralCreated: 'ephemeral.created',
  ephemeralCreateFailed: 'ephemeral.create_failed',
  ephemeralDropped: 'ephemeral.dropped',
  ephemeralDropFailed: 'ephemeral.drop_failed',
  ephemeralAbandoned: 'ephemeral.abandoned',
  ephemeralReconcileFailed: 'ephemeral.reconcile_failed',
  // Rotation of static credentials (gateway/provision/rotation.ts).
  credentialRotated: 'credential.rotated',
  credentialRotationFailed: 'credential.rotation_failed',
  credentialRotationRecovered: 'credential.rotation_recovered',
  credentialRotationSkipped: 'credential.rotation_skipped',
  ephemeralExtendFailed: 'ephemeral.extend_failed',
  // Discovery of privileged accounts (gateway/provision/discovery*.ts).
  discoveryFailed: 'discovery.failed',
  discoveryUnmanagedFound: 'discovery.unmanaged_found',
  discoveryCloseFailed: 'discovery.close_failed',
} as const;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'portcullis' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
