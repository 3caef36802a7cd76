// The WebSocket of a vendor's browser terminal. Authenticated in the upgrade handler by the resume
// cookie that opening the link set (so only that browser attaches); the Origin was checked before
// (upgrade.ts: a page on another origin cannot drive the terminal). Frames are limited in size;
// the terminal parses them.
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES } from '../web-terminal/messages.js';
import type { VendorTerminals } from '../web-terminal/vendor-terminals.js';
import type { Logger } from '../log/logger.js';
import { logRefusedHandshakes, type UpgradeRoute } from './upgrade.js';
import { cookieValue, LINK_COOKIE } from './web-auth.js';

export function vendorTerminalRoute(terminals: VendorTerminals, log: Logger): UpgradeRoute {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  logRefusedHandshakes(wss, log);
  return {
    path: /^\/api\/v1\/l\/terminal$/,
    handle: (req, socket, head, _m, refuse) => {
      const terminal = terminals.byResume(cookieValue(req, LINK_COOKIE));
      if (!terminal) return refuse(401, 'No terminal for this browser; open the link again');
      wss.handleUpgrade(req, socket, head, (ws) => terminal.attach(ws));
    },
  };
}
