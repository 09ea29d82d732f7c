/**
 * What the Submit form produces, and the gateway request made of it (no UI imports, so it is
 * testable without a browser).
 */

export interface IJobFormValue {
  name: string;
  description: string;
  image: string;
  flavor: string;
  nodeCount: number;
  parameters: { name: string; value: string }[];
  dataUrl: string;
  outputUrl: string;
}

/** `a=1` lines (or `--a=1`) → parameters, in order. */
export function parseParameters(text: string): { name: string; value: string }[] {
  return text
    .split(/\r?\n/)
    .map(l => l.trim())
    .filter(Boolean)
    .map(l => {
      const eq = l.indexOf('=');
      const name = (eq < 0 ? l : l.slice(0, eq)).replace(/^--/, '').trim();
      return { name, value: eq < 0 ? '' : l.slice(eq + 1).trim() };
    });
}

/** The request the gateway's `POST /api/v1/jobs` takes for a notebook. */
export function jobRequest(v: IJobFormValue, instanceId: string, notebookPath: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: v.name,
    image: v.image,
    flavor: v.flavor,
    nodeCount: v.nodeCount,
    outputUrl: v.outputUrl,
    notebook: { instanceId, path: notebookPath }
  };
  if (v.description) body.description = v.description;
  if (v.dataUrl) body.dataUrl = v.dataUrl;
  if (v.parameters.length) body.parameters = v.parameters;
  return body;
}

