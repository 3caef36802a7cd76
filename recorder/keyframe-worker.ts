// Worker thread entry (keyframe-workers.ts): builds keyframe sidecars off the gateway's main
// thread, one recording per message, for as long as the thread lives. A failed build is still
// answered: its sidecar is then built on first open.
import { parentPort } from 'node:worker_threads';
import { writeKeyframes } from './keyframes.js';

parentPort?.on('message', (castPath: string) => {
  writeKeyframes(castPath).then(() => parentPort?.postMessage('done'), () => parentPort?.postMessage('failed'));
});
