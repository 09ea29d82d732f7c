/**
 * SSH over REST (issue 6, openapi.yaml "ssh"):
 *
 * - `/api/v1/ssh/keys`: the caller's key pairs: upload a public key, or generate an ed25519
 *   pair (the private key is in the 201 answer only, never stored); list; delete.
 * - `/api/v1/notebooks/:id/ssh`: an instance's SSH settings (on/off, IP allow-list) and how to
 *   connect (host, port, login name, host key).
 * - `/api/v1/ssh/config`: `~/.ssh/config` entries for the caller's instances (`nbg ssh-config`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuditResource } from '../audit/audit';
import { Errors } from '../errors';
import type { InstanceRecord } from '../instances/instance';
import type { SshKeyRecord } from '../ssh/key-store';
import { hostAlias, knownHostsLine, renderSshConfig } from '../ssh/ssh-config';
import type { SshConfigResponse } from '../ssh/ssh-config-command';
import { validateKeyCreate, validateSshSettings } from '../ssh/validate';
import { audited, notebookRef } from './audited';
import { principalOf, type ApiContext } from './context';

/** A registered key as the API shows it. */
export interface SshKeyInfo {
  id: string;
  name: string;
  type: string;
  fingerprint: string;
  publicKey: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** An instance's SSH settings and how to connect. */
export interface InstanceSshInfo {
  /** SSH is on for this instance (false too when its image does not support SSH). */
  enabled: boolean;
  /** The image's catalogue entry allows SSH. */
  supported: boolean;
  /** CIDR ranges clients must connect from; empty: any address. */
  allowCidrs: string[];
  /** Null when the gateway runs without an SSH server. */
  connect: {
    host: string;
    port: number;
    /** `<user>+<instance>` */
    user: string;
    command: string;
    hostKey: { publicKey: string; fingerprint: string };
    knownHosts: string;
  } | null;
}

function keyInfo(k: SshKeyRecord): SshKeyInfo {
  return {
    id: k.id,
    name: k.name,
    type: k.type,
    fingerprint: k.fingerprint,
    publicKey: k.publicKey,
    createdAt: new Date(k.createdAt).toISOString(),
    lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString()
  };
}

async function sshInfo(ctx: ApiContext, rec: InstanceRecord): Promise<InstanceSshInfo> {
  const s = await ctx.ssh.effectiveSettings(rec);
  const ep = ctx.ssh.endpoint();
  const user = `${rec.ownerName}+${rec.name}`;
  return {
    enabled: s.enabled,
    supported: s.supported,
    allowCidrs: s.allowCidrs,
    connect: ep
      ? {
          host: ep.host,
          port: ep.port,
          user,
          command: `ssh${ep.port === 22 ? '' : ` -p ${ep.port}`} ${user}@${ep.host.includes(':') ? `[${ep.host}]` : ep.host}`,
          hostKey: { publicKey: ep.hostKey.publicKey, fingerprint: ep.hostKey.fingerprint },
          knownHosts: knownHostsLine(ep.host, ep.port, ep.hostKey.publicKey)
        }
      : null
  };
}

function keyResource(k: SshKeyRecord): AuditResource {
  return { type: 'sshKey', id: k.id, name: k.name, ownerId: k.userId };
}

const noStore = (reply: FastifyReply): FastifyReply => reply.header('Cache-Control', 'no-store');

export function registerSshRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/ssh/keys', async req => {
    const p = await principalOf(ctx, req);
    return { items: (await ctx.ssh.keys.list(p.userId)).map(keyInfo) };
  });

  app.post('/api/v1/ssh/keys', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const body = validateKeyCreate(req.body);
    const { key, privateKey } = await audited(ctx, req, p, 'createSshKey', { type: 'sshKey', id: '', name: body.name, ownerId: p.userId },
      () => ctx.ssh.addKey({ id: p.userId, name: p.name }, body.name, body.publicKey), {
        resourceOf: r => keyResource(r.key),
        details: { generated: body.publicKey === undefined }
      });
    noStore(reply).code(201).header('Location', `/api/v1/ssh/keys/${key.id}`);
    // The private key of a generated pair is in this answer only: it is not stored anywhere.
    return { ...keyInfo(key), ...(privateKey ? { privateKey } : {}) };
  });

  app.get('/api/v1/ssh/keys/:id', async req => {
    const p = await principalOf(ctx, req);
    return keyInfo(await ctx.ssh.keys.get(p.userId, (req.params as { id: string }).id));
  });

  app.delete('/api/v1/ssh/keys/:id', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const known = await ctx.ssh.keys.get(p.userId, id).catch(() => undefined);
    await audited(ctx, req, p, 'deleteSshKey', known ? keyResource(known) : { type: 'sshKey', id, ownerId: p.userId }, () => ctx.ssh.deleteKey(p.userId, id));
    reply.code(204);
  });

  app.get('/api/v1/notebooks/:id/ssh', async req => {
    const p = await principalOf(ctx, req);
    return sshInfo(ctx, await ctx.instances.get(p, (req.params as { id: string }).id));
  });

  app.put('/api/v1/notebooks/:id/ssh', async req => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const rec = await ctx.instances.get(p, id);
    const current = await ctx.ssh.settings.get(rec.id);
    const next = validateSshSettings(req.body, '', current);
    await audited(ctx, req, p, 'updateNotebook', await notebookRef(ctx, p, id), async () => {
      await ctx.access.authorize(p, 'notebook:update', { service: 'notebook', id: rec.id, ownerId: rec.ownerId });
      await ctx.ssh.updateSettings(rec, next);
    }, { details: { fields: Object.keys(req.body as object).map(k => `ssh.${k}`), ssh: next } });
    return sshInfo(ctx, rec);
  });

  app.get('/api/v1/ssh/config', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const q = req.query as Record<string, unknown>;
    const prefix = typeof q.prefix === 'string' ? q.prefix : 'nbg-';
    if (!/^[A-Za-z0-9._-]{0,32}$/.test(prefix)) throw Errors.VALIDATION('"prefix" may hold up to 32 letters, digits, ".", "_" and "-"');
    const identityFile = typeof q.identityFile === 'string' && q.identityFile ? q.identityFile : undefined;
    if (identityFile && (identityFile.length > 512 || /[\r\n"]/.test(identityFile))) throw Errors.VALIDATION('"identityFile" must be a path on one line, without quotes');
    const ep = ctx.ssh.endpoint();
    if (!ep) throw Errors.VALIDATION('this gateway runs without an SSH server (sshPort is -1)');
    const { items } = await ctx.instances.list(p, { limit: 200, offset: 0 });
    const own = items.filter(r => r.ownerId === p.userId);
    const entries = own.map(r => ({ alias: hostAlias(prefix, r.name), user: `${r.ownerName}+${r.name}`, instanceId: r.id, instanceName: r.name, status: r.status }));
    const body: SshConfigResponse = {
      host: ep.host,
      port: ep.port,
      hostKey: { publicKey: ep.hostKey.publicKey, fingerprint: ep.hostKey.fingerprint },
      entries,
      knownHosts: knownHostsLine(ep.host, ep.port, ep.hostKey.publicKey),
      config: renderSshConfig({ host: ep.host, port: ep.port, entries, ...(identityFile ? { identityFile } : {}) })
    };
    noStore(reply);
    return body;
  });
}
