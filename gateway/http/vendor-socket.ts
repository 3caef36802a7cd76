// The WebSocket of a vendor's browser terminal. Authenticated in the upgrade handler by the resume
// cookie that opening the link set (so only that browser attaches), and by Origin (a page on
// another site cannot drive the terminal). Frames are limited in size; the terminal parses them.
import { WebSocketServer } from 'ws';
import type { ApiServices } from './api-services.js';
import { MAX_FRAME_BYTES } from '../web-terminal/messages.js';
import { refuseUpgrade, type UpgradeRoute } from './upgrade.js';
import { cookieValue, LINK_COOKIE } from './web-auth.js';

export function vendorTerminalRoute(app: Pick<ApiServices, 'vendorTerminals'>): UpgradeRoute {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  return {
    path: /^\/api\/v1\/l\/terminal$/,
    handle: (req, socket, head) => {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `https://${req.headers.host ?? ''}`) return refuseUpgrade(socket, 403, 'Forbidden origin');
      const terminal = app.vendorTerminals.byResume(cookieValue(req, LINK_COOKIE));
      if (!terminal) return refuseUpgrade(socket, 401, 'No terminal for this browser; open the link again');
      wss.handleUpgrade(req, socket, head, (ws) => terminal.attach(ws));
    },
  };
}
