/**
 * Small shared pieces of the console: status badges, notices, copy buttons, confirmation
 * dialogs (native `<dialog>`: focus is trapped and restored by the browser), and a polite
 * live region for toasts.
 */
import { h, type Child } from '../dom';
import { toneOf } from '../logic/format';
import { ResponseError } from '../api/restapi';

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge tone-${toneOf(status)}`, 'data-status': status }, status);
}

export function notice(kind: 'info' | 'error' | 'warn', ...children: Child[]): HTMLElement {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** What to tell a person about a failed call. */
export function errorText(err: unknown): string {
  if (err instanceof ResponseError) return err.message;
  return (err as Error)?.message ?? String(err);
}

/** A notice for an API that this gateway does not offer yet (its route is missing). */
export function unavailable(feature: string): HTMLElement {
  return notice('info', `${feature} is not available on this gateway yet.`);
}

export function copyButton(text: () => string, label = 'Copy'): HTMLButtonElement {
  const btn = h('button', { type: 'button', class: 'btn btn-small' }, label);
  btn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      btn.textContent = 'Copied';
    } catch {
      btn.textContent = 'Select and copy';
    }
    setTimeout(() => (btn.textContent = label), 1500);
  });
  return btn;
}

/** Asks before something irreversible. @returns true when confirmed. */
export function confirmDialog(title: string, message: string, action: string): Promise<boolean> {
  return new Promise(resolve => {
    const dlg = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        h('p', null, message),
        h('div', { class: 'actions' },
          h('button', { value: 'cancel', class: 'btn' }, 'Cancel'),
          h('button', { value: 'ok', class: 'btn btn-danger' }, action)))
    );
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

let toastRegion: HTMLElement | null = null;

/** Shows a short message in a polite live region (screen readers announce it). */
export function toast(message: string, kind: 'info' | 'error' = 'info'): void {
  if (!toastRegion) {
    toastRegion = h('div', { class: 'toasts', 'aria-live': 'polite', role: 'status' });
    document.body.appendChild(toastRegion);
  }
  const t = h('div', { class: `toast toast-${kind}` }, message);
  toastRegion.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

/** A labelled form field with a live hint/error line wired for assistive tech. */
export function field(id: string, label: string, control: HTMLElement, hint?: string): { el: HTMLElement; setError(msg: string | null): void } {
  const hintEl = h('div', { class: 'hint', id: `${id}-hint` }, hint ?? '');
  const errEl = h('div', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
  control.id = id;
  control.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, errEl);
  return {
    el,
    setError(msg) {
      errEl.textContent = msg ?? '';
      if (msg) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
  };
}
