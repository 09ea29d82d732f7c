/** Types of definitions.mjs (plain ESM so images/build runs before anything is compiled). */
export declare const HASH_LABEL: string;
export declare const NAME_LABEL: string;
export declare const COMMON_DIR: string;

export interface Definition {
  name: string;
  ref: string;
  role: 'base' | 'preset' | 'auxiliary';
  kind: 'debootstrap' | 'dockerfile';
  from: string | undefined;
  requiresBase: string | undefined;
  context: string | undefined;
  debootstrap: { suite: string; variant: string; packages: string; setup: string } | undefined;
  chips: string[];
  files: string[];
}

export declare function loadDefinitions(imagesDir: string): Definition[];
export declare function ancestry(defs: Definition[], name: string): Definition[];
export declare function definitionHash(imagesDir: string, defs: Definition[], name: string): string;
export declare function lintDockerfile(text: string, def: Definition): string[];
export declare function parseDockerfile(text: string, problems?: string[]): Array<{ op: string; args: string; line: number }>;
