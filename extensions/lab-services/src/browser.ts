/**
 * Browser helpers shared by the console (`web/src/console`) and the lab plug-ins. No
 * dependencies, so the console can import this file without pulling JupyterLab in.
 */

/** Reads one cookie of the page (the `_xsrf` value the gateway sets at sign-in). */
export function readCookie(name: string, cookies: string = typeof document === 'undefined' ? '' : document.cookie): string | undefined {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Reads a `text/event-stream` body, calling `on(event, data)` per event (data JSON-parsed when it is JSON). */
export async function readEvents(body: ReadableStream<Uint8Array>, on: (event: string, data: unknown) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    buf += decoder.decode(value ?? new Uint8Array(), { stream: !done });
    let sep: number;
    while ((sep = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, sep);
      buf = buf.slice(sep).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) {
        const text = data.join('\n');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* a plain-text event */
        }
        on(event, parsed);
      }
    }
    if (done) return;
  }
}

/** `1d 02h`, `2h 05m`, `4m 09s`, `12s`; `expired` at or below zero. */
export function countdown(ms: number): string {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const hh = Math.floor((s % 86_400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${pad(hh)}h`;
  if (hh > 0) return `${hh}h ${pad(mm)}m`;
  if (mm > 0) return `${mm}m ${pad(s % 60)}s`;
  return `${s}s`;
}
