// The real TicketHttp: one POST with node:http or node:https (system CAs, plus NODE_EXTRA_CA_CERTS,
// which Node reads at start), no keep-alive, redirects returned as they are (never followed), and
// the body read only up to the limit + 1 byte. Aborted by the caller's signal (the 5 s limit).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TicketHttp, TicketHttpAnswer } from './ticket-check.js';

export const ticketHttp: TicketHttp = (url, json, { maxBytes, signal }) => new Promise<TicketHttpAnswer>((resolve, reject) => {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, {
    method: 'POST', signal, agent: false,
    headers: { 'content-type': 'application/json', 'accept': 'application/json', 'content-length': Buffer.byteLength(json), 'user-agent': 'portcullis-ticket-check' },
  }, (res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      // Enough to know it is too large: stop reading.
      if (size > maxBytes) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, maxBytes + 1) });
      }
    });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(json);
});
