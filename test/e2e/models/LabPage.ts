/**
 * Page object of JupyterLab as the gateway serves it (in the spirit of JupyterLab's galata):
 * launcher, notebooks, terminals, and our plug-ins' dialogs.
 */
import type { Locator, Page } from 'playwright-core';

export class LabPage {
  constructor(readonly page: Page) {}

  /** Waits until the shell is restored and the launcher or a document is shown. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    await this.page.waitForSelector('body[data-nbg-lab-ready="true"]', { state: 'attached', timeout: timeoutMs });
    await this.page.locator('#jp-main-dock-panel').waitFor({ timeout: timeoutMs });
  }

  private get _notebook(): Locator {
    return this.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)').last();
  }

  /** Opens a new Python notebook from the launcher and waits for its kernel. */
  async newNotebook(): Promise<void> {
    await this.page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
    await this._notebook.waitFor();
    await this.waitKernelIdle();
  }

  /** Waits until the current notebook's kernel is connected and idle (what the status bar shows). */
  async waitKernelIdle(timeoutMs = 60_000): Promise<void> {
    await this.page.waitForFunction(
      () => {
        type K = { connectionStatus: string; status: string };
        const app = (globalThis as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: K | null } | null } } | null } } }).jupyterapp;
        const k = app.shell.currentWidget?.sessionContext?.session?.kernel;
        return k?.connectionStatus === 'connected' && k.status === 'idle';
      },
      undefined,
      { timeout: timeoutMs, polling: 200 }
    );
  }

  /** Types code into the active cell, runs it (Shift+Enter) and returns its output text. */
  async runCell(code: string, timeoutMs = 60_000): Promise<string> {
    const cells = this._notebook.locator('.jp-CodeCell');
    const index = (await cells.count()) - 1;
    const cell = cells.nth(index);
    await cell.locator('.cm-content').click();
    await this.page.keyboard.type(code);
    await this.page.keyboard.press('Shift+Enter');
    const output = cell.locator('.jp-OutputArea-output');
    await output.first().waitFor({ timeout: timeoutMs });
    return (await output.first().innerText()).trim();
  }

  /**
   * Saves the current notebook (Ctrl+S) and waits until it is no longer dirty. On a first
   * save JupyterLab asks for a name: `name` answers it (else the proposed one is kept).
   */
  async save(name?: string): Promise<void> {
    await this.page.keyboard.press('Control+s');
    const rename = this.page.locator('.jp-Dialog', { hasText: 'Rename file' });
    const dirty = this.page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty');
    const first = await Promise.race([
      rename.waitFor({ timeout: 30_000 }).then(() => true),
      dirty.waitFor({ state: 'detached', timeout: 30_000 }).then(() => false)
    ]);
    if (first) {
      if (name) await rename.locator('input').first().fill(name);
      await rename.getByRole('button', { name: 'Rename and Save' }).click();
    }
    await dirty.waitFor({ state: 'detached', timeout: 30_000 });
  }

  async notebookPath(): Promise<string> {
    return this.page.evaluate(() => {
      const app = (globalThis as unknown as { jupyterapp: { shell: { currentWidget: { context?: { path: string } } | null } } }).jupyterapp;
      return app.shell.currentWidget?.context?.path ?? '';
    });
  }

  /** Runs a command of the application (what menus and the palette do). */
  async execute(command: string, args: Record<string, unknown> = {}): Promise<void> {
    await this.page.evaluate(
      async ([c, a]) => {
        const app = (globalThis as unknown as { jupyterapp: { commands: { execute(c: string, a: unknown): Promise<unknown> } } }).jupyterapp;
        void app.commands.execute(c as string, a);
      },
      [command, args] as const
    );
  }

  /** Opens a terminal (what File › New › Terminal runs). */
  async newTerminal(): Promise<void> {
    await this.execute('terminal:create-new');
    await this.page.locator('.jp-Terminal:not(.lm-mod-hidden) .xterm').last().waitFor();
  }

  /** Types a command line in the current terminal. */
  async typeInTerminal(line: string): Promise<void> {
    await this.page.locator('.jp-Terminal:not(.lm-mod-hidden) .xterm').last().click();
    await this.page.keyboard.type(line);
    await this.page.keyboard.press('Enter');
  }

  /** The terminal's text (needs the screen-reader rows: terminal setting `screenReaderMode`). */
  async terminalText(): Promise<string> {
    return (await this.page.locator('.jp-Terminal:not(.lm-mod-hidden) .xterm-accessibility-tree').last().innerText()).replace(/\u00a0/g, ' ');
  }

  /** Opens "Convert to Python File" from the File menu. */
  async openConvertDialog(): Promise<Locator> {
    await this.page.getByRole('menuitem', { name: 'File' }).first().click();
    await this.page.getByRole('menuitem', { name: 'Convert to Python File' }).click();
    const dialog = this.page.locator('.jp-Dialog');
    await dialog.waitFor();
    return dialog;
  }

  /** Fills the convert dialog and confirms; returns the text of a following error dialog, if any. */
  async convert(opts: { name?: string; force?: boolean } = {}): Promise<{ error: string | null }> {
    const done = this.page.locator('.Toastify__toast').filter({ hasText: /Created|Overwrote/ });
    const before = await done.count();
    const dialog = await this.openConvertDialog();
    if (opts.name !== undefined) await dialog.locator('input[name="nbg-convert-name"]').fill(opts.name);
    if (opts.force) await dialog.locator('input[name="nbg-convert-force"]').check();
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    const refusal = this.page.locator('.jp-Dialog', { hasText: 'Cannot convert' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (await refusal.isVisible()) break;
      if ((await done.count()) > before) return { error: null };
      if (Date.now() > deadline) throw new Error('neither a result nor an error after converting');
      await this.page.waitForTimeout(100);
    }
    const text = (await refusal.locator('.jp-Dialog-body').innerText()).trim();
    await refusal.locator('.jp-Dialog-button').last().click();
    // The convert dialog opens again so that the user can pick another name: cancel it.
    const again = this.page.locator('.jp-Dialog', { hasText: 'Convert to Python File' });
    await again.waitFor();
    await again.locator('.jp-Dialog-button.jp-mod-reject').click();
    return { error: text };
  }

  /** Whether the convert dialog's overwrite box starts unchecked (then closes the dialog). */
  async convertForceDefault(): Promise<{ label: string; checked: boolean }> {
    const dialog = await this.openConvertDialog();
    const label = (await dialog.locator('.nbg-ConvertDialog-force').innerText()).trim();
    const checked = await dialog.locator('input[name="nbg-convert-force"]').isChecked();
    await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
    return { label, checked };
  }

  /** Chooses a theme from Settings › Theme. */
  async chooseTheme(theme: 'JupyterLab Light' | 'JupyterLab Dark'): Promise<void> {
    await this.execute('apputils:change-theme', { theme });
    await this.page.waitForSelector(`body[data-jp-theme-name="${theme}"]`, { state: 'attached' });
  }

  async theme(): Promise<string | null> {
    return this.page.locator('body').getAttribute('data-jp-theme-name');
  }

  /**
   * Selects items in the file browser, opens their context menu and runs "Sync to ~/work"
   * (Sync OBS). @returns the dialog's text (the plan and the limits), or the refusal's.
   */
  async syncObs(names: string[], confirm = true): Promise<{ plan: string | null; refusal: string | null }> {
    await this.execute('filebrowser:refresh');
    const item = (n: string): Locator => this.page.locator('.jp-DirListing-item', { has: this.page.locator('.jp-DirListing-itemText', { hasText: n }) }).first();
    await item(names[0]!).click();
    for (const n of names.slice(1)) await item(n).click({ modifiers: ['Control'] });
    await item(names.at(-1)!).click({ button: 'right' });
    await this.page.getByRole('menuitem', { name: 'Sync to ~/work' }).click();
    const dialog = this.page.locator('.jp-Dialog').last();
    await dialog.waitFor();
    const title = (await dialog.locator('.jp-Dialog-header').innerText()).trim();
    const body = (await dialog.locator('.jp-Dialog-body').innerText()).trim();
    if (title !== 'Sync OBS' || !body.startsWith('Copy')) {
      await dialog.locator('.jp-Dialog-button').last().click();
      return { plan: null, refusal: body };
    }
    if (!confirm) {
      await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
      return { plan: body, refusal: null };
    }
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    return { plan: body, refusal: null };
  }

  /** Waits for a notification whose text matches. */
  async notification(text: RegExp): Promise<string> {
    const toast = this.page.locator('.Toastify__toast').filter({ hasText: text }).first();
    await toast.waitFor({ timeout: 60_000 });
    return toast.innerText();
  }

  /** Lists the file browser's current directory. */
  async files(): Promise<string[]> {
    await this.execute('filebrowser:refresh');
    return this.page.locator('.jp-DirListing-item .jp-DirListing-itemText').allInnerTexts();
  }
}
