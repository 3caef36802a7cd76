// The recording of a brokered terminal session, set up once for every terminal front end (an SSH
// client, a vendor's browser): metadata sidecar, fail-closed on a recording failure unless the
// policy says otherwise, visible to live viewers while it runs, closed and indexed for search when
// the session ends.
import { SessionRecording } from '../../recorder/session-recording.js';
import type { Clock } from '../util/clock.js';
import type { BrokeredSession } from './broker.js';

export function recordSession(session: BrokeredSession, clock: Clock, liveRecordings: Map<string, SessionRecording>): SessionRecording {
  const { auth } = session;
  const recording = new SessionRecording(session.recordingDir, {
    session: session.id, protocol: session.protocol, user: auth.user.name, target: auth.target.name, grant: auth.grant.id,
    reason: auth.grant.reason, ticket: auth.grant.ticket, client_addr: session.clientAddr, started_at: new Date(session.startedAt).toISOString(),
    ...(auth.link ? { link: auth.link } : {}),
  }, () => clock.now(), (err) => {
    session.log.error({ err: err.message, required: session.recordingRequired }, 'recording.failed');
    // Fail closed unless the policy explicitly lets the session go on unrecorded.
    if (session.recordingRequired) session.terminate('recording-failed');
  });
  liveRecordings.set(session.id, recording);
  session.onEnd((reason) => {
    liveRecordings.delete(session.id);
    void recording.close(reason).then(() => session.indexRecording());
  });
  return recording;
}
