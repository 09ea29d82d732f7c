export { SshService, publicHostPort, type SshServiceOptions, type SshEndpoint } from './ssh-service';
export { SshGateway, type SshAuditEvent, type SshGatewayOptions } from './ssh-gateway';
export { sshAuditRecorder } from './audit';
export { isSshChannelPath } from './agent-link';
export { sshConfigCommand, type SshConfigCommandOptions, type SshConfigCommandResult } from './ssh-config-command';
