/**
 * `--flag value` / `--flag=value` parsing for the settings of the gateway and of the agent
 * (both read their flags through it; the agent bundles this module).
 */

/**
 * @returns each flag (with its leading `--`) and its value.
 * @throws Error for a positional argument or a flag without a value.
 */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"; settings are --flag value`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(0, eq), arg.slice(eq + 1));
    } else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`flag ${arg} needs a value`);
      flags.set(arg, value);
    }
  }
  return flags;
}
