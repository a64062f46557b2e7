import ignore, { type Ignore } from 'ignore';

/** Ignore files read in every directory, in order of increasing precedence. */
export const IGNORE_FILE_NAMES = ['.gitignore', '.nearbyignore'] as const;

/**
 * Directories and files nobody wants in a semantic index: VCS metadata, dependencies, build output,
 * caches, lockfiles and generated or minified assets. Users can re-include any of them with a
 * negation in `.nearbyignore`.
 */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.git/', '.hg/', '.svn/', '.jj/',
  'node_modules/', 'bower_components/', 'jspm_packages/', 'vendor/', 'third_party/',
  'dist/', 'build/', 'out/', 'target/', 'bin/', 'obj/', '.next/', '.nuxt/', '.svelte-kit/', '.turbo/',
  'coverage/', '.nyc_output/', '__pycache__/', '.venv/', 'venv/', '.tox/', '.mypy_cache/', '.pytest_cache/',
  '.ruff_cache/', '.gradle/', '.idea/', '.vscode-test/', '.cache/', '.parcel-cache/', '.terraform/',
  'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'npm-shrinkwrap.json', 'Cargo.lock',
  'poetry.lock', 'Pipfile.lock', 'Gemfile.lock', 'composer.lock', 'go.sum', 'uv.lock', 'flake.lock',
  '*.min.js', '*.min.css', '*.min.mjs', '*.bundle.js', '*.chunk.js', '*.map', '*.snap',
  '*.pyc', '*.class', '*.o', '*.so', '*.dylib', '*.dll', '*.exe', '*.wasm', '*.jar', '*.zip', '*.gz',
  '*.tgz', '*.bz2', '*.xz', '*.7z', '*.png', '*.jpg', '*.jpeg', '*.gif', '*.ico', '*.webp', '*.bmp',
  '*.pdf', '*.mp3', '*.mp4', '*.mov', '*.woff', '*.woff2', '*.ttf', '*.otf', '*.eot', '*.onnx',
  '*.sqlite', '*.db', '*.bin', '*.lock',
];

interface Level {
  /** Directory of the ignore file, relative to the root, `''` for the root, no trailing slash. */
  base: string;
  rules: Ignore;
}

/**
 * Stack of ignore files from the root down to the current directory, evaluated like git: rules of
 * deeper files override shallower ones, and within one level the last matching rule wins, so
 * negations (`!keep.log`) work. Files inside an ignored directory are never visited, as in git.
 */
export class IgnoreStack {
  private constructor(private readonly levels: readonly Level[]) {}

  static root(defaults: readonly string[], extra: readonly string[] = []): IgnoreStack {
    const rules = ignore().add([...defaults, ...extra]);
    return new IgnoreStack([{ base: '', rules }]);
  }

  /** Returns a stack for directory `dirRel` with the given ignore file contents added. */
  descend(dirRel: string, ignoreFileContents: readonly string[]): IgnoreStack {
    if (ignoreFileContents.length === 0) return this;
    const rules = ignore();
    for (const contents of ignoreFileContents) rules.add(contents);
    return new IgnoreStack([...this.levels, { base: dirRel, rules }]);
  }

  /** `relPath` uses `/` separators; directories end with `/`. */
  ignores(relPath: string): boolean {
    let ignored = false;
    for (const level of this.levels) {
      const local = level.base === '' ? relPath : relPath.slice(level.base.length + 1);
      const verdict = level.rules.test(local);
      if (verdict.ignored) ignored = true;
      else if (verdict.unignored) ignored = false;
    }
    return ignored;
  }
}
