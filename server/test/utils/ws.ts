/**
 * Opens a WebSocket and reports how the handshake ended: 101 (opened, then closed by us) or
 * the status the server refused it with.
 */
import WebSocket from 'ws';

export function wsHandshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; echo?: string }> {
  return new Promise(resolve => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.on('open', () => {
      ws.once('message', data => {
        resolve({ status: 101, echo: String(data) });
        ws.close();
      });
      ws.send('ping');
    });
    ws.on('error', () => resolve({ status: 0 }));
  });
}
