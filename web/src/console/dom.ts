/**
 * A tiny DOM builder: the console renders with real elements (text always goes through
 * `textContent`, so nothing the server sends is ever parsed as HTML).
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Handler = (ev: Event) => void;
export type Props = Record<string, string | number | boolean | null | undefined | Handler>;

/**
 * Creates an element.
 * @param props - attributes; `on<event>` functions become listeners; `true` sets an empty
 *   attribute; `false`/null/undefined leave it out; `value`/`checked` set the property.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'value' || k === 'checked') (el as unknown as Record<string, unknown>)[k] = v;
      else if (v === true) el.setAttribute(k, '');
      else if (v !== false && v !== null && v !== undefined) el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's content. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A unique id for label/aria wiring. */
let seq = 0;
export function uid(prefix: string): string {
  return `${prefix}-${++seq}`;
}
