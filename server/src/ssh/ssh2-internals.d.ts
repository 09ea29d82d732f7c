/** The one ssh2 internal `ssh2-extras.ts` calls (not covered by @types/ssh2). */
declare module 'ssh2/lib/protocol/utils.js' {
  export function sendPacket(protocol: unknown, packet: Buffer, bypass?: boolean): void;
}
