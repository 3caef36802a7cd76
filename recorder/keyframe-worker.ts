// Worker thread entry: builds one recording's keyframe sidecar off the gateway's main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { writeKeyframes } from './keyframes.js';

const { castPath } = workerData as { castPath: string };
await writeKeyframes(castPath);
parentPort?.postMessage('done');
