import * as path from 'node:path';
import type { ChunkKind } from '../types';

/** Languages with a tree-sitter grammar (see grammars.json). */
export type ParsedLanguage = 'typescript' | 'tsx' | 'javascript' | 'python' | 'go' | 'java' | 'ruby' | 'rust' | 'c' | 'cpp' | 'csharp' | 'php';

const BY_EXTENSION: Record<string, string> = {
  '.ts': 'typescript', '.mts': 'typescript', '.cts': 'typescript', '.tsx': 'tsx',
  '.js': 'javascript', '.mjs': 'javascript', '.cjs': 'javascript', '.jsx': 'javascript',
  '.py': 'python', '.pyi': 'python', '.go': 'go', '.java': 'java', '.rb': 'ruby', '.rake': 'ruby',
  '.rs': 'rust', '.c': 'c', '.h': 'c', '.cc': 'cpp', '.cpp': 'cpp', '.cxx': 'cpp', '.hpp': 'cpp', '.hh': 'cpp',
  '.hxx': 'cpp', '.cs': 'csharp', '.php': 'php',
  '.md': 'markdown', '.mdx': 'markdown', '.markdown': 'markdown', '.rst': 'restructuredtext',
  '.txt': 'plaintext', '.adoc': 'asciidoc',
  '.json': 'json', '.yaml': 'yaml', '.yml': 'yaml', '.toml': 'toml', '.xml': 'xml', '.html': 'html',
  '.css': 'css', '.scss': 'scss', '.less': 'less', '.sql': 'sql', '.sh': 'shellscript', '.bash': 'shellscript',
  '.kt': 'kotlin', '.swift': 'swift', '.scala': 'scala', '.lua': 'lua', '.r': 'r', '.dart': 'dart',
  '.vue': 'vue', '.svelte': 'svelte', '.ex': 'elixir', '.exs': 'elixir', '.erl': 'erlang', '.hs': 'haskell',
  '.ml': 'ocaml', '.clj': 'clojure', '.pl': 'perl', '.proto': 'proto', '.graphql': 'graphql', '.tf': 'terraform',
};
const BY_NAME: Record<string, string> = { Dockerfile: 'dockerfile', Makefile: 'makefile', Rakefile: 'ruby', Gemfile: 'ruby' };
const PARSED = new Set<string>(['typescript', 'tsx', 'javascript', 'python', 'go', 'java', 'ruby', 'rust', 'c', 'cpp', 'csharp', 'php']);
const DOCS = new Set(['markdown', 'restructuredtext', 'plaintext', 'asciidoc']);

/** Language id of a path, by extension or well-known file name; `text` when unknown. */
export function languageOf(filePath: string): string {
  const base = path.posix.basename(filePath.replace(/\\/g, '/'));
  return BY_NAME[base] ?? BY_EXTENSION[path.extname(base).toLowerCase()] ?? 'text';
}

export function isParsed(language: string): language is ParsedLanguage {
  return PARSED.has(language);
}

export function kindOf(language: string): ChunkKind {
  return DOCS.has(language) ? 'doc' : 'code';
}

/**
 * Node types that define something worth finding on its own (function, method, class, ...).
 * Wrappers (`export_statement`, `decorated_definition`, `template_declaration`) count too: their
 * range includes decorators and `export`, and their name comes from the wrapped definition.
 */
export const DEFINITIONS: Record<ParsedLanguage, ReadonlySet<string>> = {
  python: new Set(['function_definition', 'class_definition', 'decorated_definition']),
  javascript: jsDefinitions(),
  typescript: jsDefinitions('interface_declaration', 'type_alias_declaration', 'enum_declaration', 'abstract_class_declaration', 'module', 'internal_module'),
  tsx: jsDefinitions('interface_declaration', 'type_alias_declaration', 'enum_declaration', 'abstract_class_declaration', 'module', 'internal_module'),
  go: new Set(['function_declaration', 'method_declaration', 'type_declaration']),
  java: new Set(['class_declaration', 'interface_declaration', 'enum_declaration', 'record_declaration', 'method_declaration', 'constructor_declaration', 'annotation_type_declaration']),
  ruby: new Set(['method', 'singleton_method', 'class', 'module']),
  rust: new Set(['function_item', 'impl_item', 'struct_item', 'enum_item', 'trait_item', 'mod_item', 'macro_definition', 'union_item']),
  c: new Set(['function_definition', 'struct_specifier', 'enum_specifier', 'union_specifier', 'type_definition']),
  cpp: new Set(['function_definition', 'class_specifier', 'struct_specifier', 'enum_specifier', 'namespace_definition', 'template_declaration', 'type_definition']),
  csharp: new Set(['class_declaration', 'interface_declaration', 'struct_declaration', 'enum_declaration', 'record_declaration', 'method_declaration', 'constructor_declaration', 'namespace_declaration', 'property_declaration']),
  php: new Set(['function_definition', 'class_declaration', 'method_declaration', 'interface_declaration', 'trait_declaration', 'enum_declaration']),
};

function jsDefinitions(...extra: string[]): ReadonlySet<string> {
  return new Set(['function_declaration', 'generator_function_declaration', 'class_declaration', 'method_definition', 'lexical_declaration', 'variable_declaration', 'export_statement', ...extra]);
}

/** Node types that are comments, attached to the definition that follows them. */
export function isComment(type: string): boolean {
  return type === 'comment' || type === 'line_comment' || type === 'block_comment' || type === 'doc_comment';
}
