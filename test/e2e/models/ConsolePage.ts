/**
 * Page object of the console (STYLE.md §22): what a person does there, in their words.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { LabPage } from './LabPage';

export class ConsolePage {
  constructor(
    readonly page: Page,
    private readonly _context: BrowserContext
  ) {}

  async goto(hash = ''): Promise<void> {
    await this.page.goto(`/${hash}`);
  }

  /** Fills and sends the sign-in form (the page then goes where the console sends it). */
  async submitSignIn(user: string, password: string): Promise<void> {
    await this.page.getByLabel('User name').fill(user);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }

  async signIn(user: string, password: string): Promise<void> {
    await this.submitSignIn(user, password);
    await this.page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  async openCreateForm(): Promise<void> {
    await this.page.getByRole('link', { name: 'Create instance' }).first().click();
    await this.page.getByRole('heading', { name: 'Create a notebook instance' }).waitFor();
  }

  /** Types a name and returns the live validation message ('' when valid). */
  async typeName(name: string): Promise<string> {
    await this.page.getByLabel('Name', { exact: true }).fill(name);
    return (await this.page.locator('#create-name-error').textContent()) ?? '';
  }

  async chooseImage(image: string): Promise<void> {
    await this.page.locator(`input[name="image"][value="${image}"]`).check();
  }

  /** Flavor ids offered for the chosen image. */
  async flavorChoices(): Promise<string[]> {
    const options = await this.page.getByLabel('Flavor').locator('option').all();
    return Promise.all(options.map(async o => (await o.getAttribute('value')) ?? ''));
  }

  /** Fills the create form and submits it; waits for the instance page. */
  async createInstance(opts: { name: string; image?: string; description?: string }): Promise<string> {
    await this.openCreateForm();
    await this.typeName(opts.name);
    if (opts.image) await this.chooseImage(opts.image);
    if (opts.description) await this.page.getByLabel('Description (optional)').fill(opts.description);
    await this.page.getByRole('button', { name: 'Create and start' }).click();
    await this.page.getByRole('heading', { name: opts.name, exact: true }).waitFor();
    return new URL(this.page.url()).hash.split('/').pop()!;
  }

  /** On an instance page: waits until its state badge reads `status`. */
  async waitForState(status: string, timeoutMs = 90_000): Promise<void> {
    await this.page.locator(`#sum-title ~ * .badge[data-status="${status}"], section .facts .badge[data-status="${status}"]`).first().waitFor({ timeout: timeoutMs });
  }

  /** The action buttons offered for an instance on its page. */
  async offeredActions(name: string): Promise<string[]> {
    const group = this.page.getByRole('group', { name: `Actions for ${name}` }).first();
    return group.locator('a, button').allInnerTexts().then(texts => texts.map(t => t.trim()));
  }

  /** Clicks "Open JupyterLab" and returns the lab in its new tab once it is ready. */
  async openLab(name: string): Promise<LabPage> {
    const [tab] = await Promise.all([this._context.waitForEvent('page'), this.page.getByRole('link', { name: `Open JupyterLab of ${name}` }).first().click()]);
    const lab = new LabPage(tab);
    await lab.waitReady();
    return lab;
  }

  /** Clicks an instance action button (Start, Stop, Delete), confirming a deletion. */
  async act(name: string, action: 'Start' | 'Stop' | 'Delete'): Promise<void> {
    await this.page.getByRole('button', { name: `${action} ${name}` }).first().click();
    if (action === 'Delete') await this.page.locator('dialog').getByRole('button', { name: 'Delete' }).click();
  }

  /** Opens an instance's page from the list. */
  async openInstance(name: string): Promise<void> {
    await this.goto('#/notebooks');
    await this.page.locator(`tr[data-instance="${name}"] a`).first().click();
    await this.page.getByRole('heading', { name, exact: true }).waitFor();
  }

  async signOut(): Promise<void> {
    await this.page.getByRole('button', { name: 'Sign out' }).click();
    await this.page.getByRole('button', { name: 'Sign in' }).waitFor();
  }

  /** The text of a job version's log on the job's page. */
  async jobLog(jobName: string): Promise<string> {
    await this.page.locator(`tr[data-job="${jobName}"] a`).first().click();
    const log = this.page.locator('pre.log');
    await log.waitFor();
    return log.innerText();
  }

  /** Fills the console's training-job form and submits it; waits for the job's page. */
  async createJob(o: { name: string; codeUrl: string; bootFile: string; outputUrl: string; parameters?: string }): Promise<void> {
    await this.page.getByRole('link', { name: 'Create training job' }).click();
    await this.page.getByRole('heading', { name: 'Create a training job' }).waitFor();
    await this.page.getByLabel('Name', { exact: true }).fill(o.name);
    await this.page.getByLabel('Code directory').fill(o.codeUrl);
    await this.page.getByLabel('Boot file').fill(o.bootFile);
    if (o.parameters) await this.page.getByLabel('Run parameters (optional)').fill(o.parameters);
    await this.page.getByLabel('Output location').fill(o.outputUrl);
    await this.page.getByRole('button', { name: 'Create', exact: true }).click();
    await this.page.getByRole('heading', { name: o.name, exact: true }).waitFor();
  }

  /** On a job's page: waits until a version shows `status`. */
  async waitForVersionState(version: string, status: string, timeoutMs = 180_000): Promise<void> {
    await this.page.locator(`tr[data-version="${version}"] .badge[data-status="${status}"]`).waitFor({ timeout: timeoutMs });
  }

  async gotoJobs(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Training jobs' }).click();
    await this.page.getByRole('heading', { name: 'Training jobs' }).waitFor();
  }

  /** On the jobs list: waits until the job's latest version shows `status`, reloading as needed. */
  async waitForJobState(jobName: string, status: string, timeoutMs = 180_000): Promise<void> {
    await this.page.locator(`tr[data-job="${jobName}"] .badge[data-status="${status}"]`).waitFor({ timeout: timeoutMs });
  }
}
