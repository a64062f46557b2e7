import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Language, Parser as ParserType } from '@vscode/tree-sitter-wasm';
import grammars from './grammars.json';
import type { ParsedLanguage } from './languages';

type TreeSitterModule = typeof import('@vscode/tree-sitter-wasm');

/**
 * Finds a grammar file: beside the bundle (`dist/grammars/`, where esbuild.js copies them) when
 * running bundled, else in node_modules when running from source.
 */
function locate(moduleRelative: string): string {
  const bundled = path.join(__dirname, 'grammars', path.basename(moduleRelative));
  return existsSync(bundled) ? bundled : require.resolve(moduleRelative);
}

/** The tree-sitter runtime with one parser per language, loaded on first use. */
export class TreeSitter {
  private readonly parsers = new Map<ParsedLanguage, Promise<ParserType>>();

  private constructor(private readonly runtime: TreeSitterModule) {}

  static async load(): Promise<TreeSitter> {
    // A require (not an import) so esbuild bundles the runtime's JavaScript with ours.
    const runtime = require('@vscode/tree-sitter-wasm') as TreeSitterModule;
    const wasm = locate(grammars.runtime);
    await runtime.Parser.init({ locateFile: () => wasm });
    return new TreeSitter(runtime);
  }

  parser(language: ParsedLanguage): Promise<ParserType> {
    let parser = this.parsers.get(language);
    if (!parser) {
      parser = this.runtime.Language.load(locate(grammars[language])).then((lang: Language) => {
        const p = new this.runtime.Parser();
        p.setLanguage(lang);
        return p;
      });
      this.parsers.set(language, parser);
    }
    return parser;
  }

  async dispose(): Promise<void> {
    for (const p of this.parsers.values()) (await p).delete();
    this.parsers.clear();
  }
}
