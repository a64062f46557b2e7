import type { Node } from '@vscode/tree-sitter-wasm';
import { DEFINITIONS, isComment, type ParsedLanguage } from './languages';
import type { Piece, PieceSet } from './pieces';

/** Signature lines kept as context for the parts of a split definition. */
const MAX_SIGNATURE_LINES = 4;

/**
 * Chunks a parsed file: each top-level definition (with its leading comments) is a piece; one
 * that does not fit is split at its body's children, each part prefixed with the enclosing
 * signature; leaves that still do not fit become line windows. Tiny neighbours are merged.
 */
export function chunkTree(root: Node, language: ParsedLanguage, set: PieceSet): Piece[] {
  const definitions = DEFINITIONS[language];
  const lastRow = set.lines.length - 1;

  /**
   * Partitions lines `start..end` at `children` (comments go with the definition after them).
   * `owner` is the enclosing definition's name: nested definitions are named `owner.name`, and
   * other parts of a split definition keep the owner's name. `topLevel` is true for the file's
   * own children only.
   */
  function splitRange(start: number, end: number, children: readonly Node[], header: readonly number[], owner: string | undefined, topLevel: boolean): Piece[] {
    const groups: { start: number; node: Node }[] = [];
    let commentStart: number | undefined;
    for (const child of children) {
      if (isComment(child.type)) {
        commentStart ??= child.startPosition.row;
        continue;
      }
      groups.push({ start: commentStart ?? child.startPosition.row, node: child });
      commentStart = undefined;
    }
    if (groups.length === 0) return set.windows(owner ? { start, end, header, symbol: owner } : { start, end, header });
    const out: Piece[] = [];
    groups.forEach((g, i) => {
      const partStart = i === 0 ? start : g.start;
      const partEnd = i + 1 < groups.length ? groups[i + 1]!.start - 1 : end;
      if (partEnd < partStart) return; // two statements on one line: the first part holds both
      const piece: Piece = { start: partStart, end: partEnd, header };
      const qualify = (n: string | undefined) => (n ? (owner ? `${owner}.${n}` : n) : owner);
      const whole = qualify(qualifiedName(g.node, topLevel));
      if (whole) piece.symbol = whole;
      if (set.fits(piece) || set.isBlank(piece)) out.push(piece);
      else {
        // Split parts are named after the container itself, not its single-member nickname.
        const own = qualify(nameOf(g.node, topLevel));
        out.push(...splitNode(g.node, own ? { ...piece, symbol: own } : { start: piece.start, end: piece.end, header }));
      }
    });
    return set.mergeTiny(out);
  }

  function nameOf(node: Node, topLevel: boolean): string | undefined {
    if (!definitions.has(node.type) && !assignedDefinition(node)) return undefined;
    // `const x = ...` names a chunk at the top level or when it holds a function; local
    // variables inside a body are not definitions anyone searches for.
    if (!topLevel && isVariable(unwrap(node)) && !holdsFunction(unwrap(node))) return undefined;
    return symbolOf(node);
  }

  /**
   * A container holding a single definition (`module Text` around `def slugify`) is named by both;
   * a function with a helper inside is still just that function.
   */
  function qualifiedName(node: Node, topLevel: boolean): string | undefined {
    const name = nameOf(node, topLevel);
    if (!name || isFunction(unwrap(node))) return name;
    const body = bodyOf(unwrap(node), definitions);
    const inner = body ? namedChildren(body).filter((c) => definitions.has(c.type) && !isVariable(unwrap(c))) : [];
    const only = inner.length === 1 ? nameOf(inner[0]!, false) : undefined;
    return only ? `${name}.${only}` : name;
  }

  /** Splits a definition too big for one chunk at its body's children; `piece.symbol` is its name. */
  function splitNode(node: Node, piece: Piece): Piece[] {
    const inner = unwrap(node);
    const body = bodyOf(inner, definitions);
    if (!body) return set.windows(piece);
    const sigStart = Math.max(piece.start, inner.startPosition.row);
    // The signature ends where the body begins: on the same line (`class A {`) or the line before (`def f():`).
    const bodyRow = body === inner ? sigStart : body.startPosition.row;
    const sigEnd = Math.min(bodyRow > sigStart ? bodyRow - 1 : sigStart, sigStart + MAX_SIGNATURE_LINES - 1);
    // A bare list of statements (a Python block) has no line of its own to show as context.
    const bare = body === inner && namedChildren(inner)[0]?.startIndex === inner.startIndex;
    // `try {` is both the statement's signature and its block's: show each row once.
    const last = piece.header[piece.header.length - 1] ?? -1;
    const signature = bare ? [] : rows(Math.max(sigStart, last + 1), sigEnd);
    const parts = splitRange(piece.start, piece.end, namedChildren(body), [...piece.header, ...signature], piece.symbol, false);
    return parts.flatMap((p) => (set.fits(p) ? [p] : set.windows(p)));
  }

  return splitRange(0, lastRow, namedChildren(root), [], undefined, true);
}

function rows(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function namedChildren(node: Node): Node[] {
  return node.namedChildren.filter((c): c is Node => c !== null);
}

function isFunction(node: Node): boolean {
  return /function|method|constructor/.test(node.type) || isVariable(node);
}

function isVariable(node: Node): boolean {
  return node.type === 'lexical_declaration' || node.type === 'variable_declaration';
}

function holdsFunction(node: Node): boolean {
  return namedChildren(node).some((d) => ['arrow_function', 'function_expression', 'function', 'class', 'generator_function'].includes(d.childForFieldName('value')?.type ?? ''));
}

// What an assignment may define: `a.b = function c() {}`, `exports.x = () => {}`, `module.exports = class {}`.
const DEFINED_VALUES = new Set(['function_expression', 'function', 'arrow_function', 'generator_function', 'class']);

/** The function or class an expression statement assigns (`res.cookie = function cookie() {}`), if that is what it does. */
function assignedDefinition(node: Node): Node | undefined {
  if (node.type !== 'expression_statement') return undefined;
  const expression = namedChildren(node)[0];
  if (expression?.type !== 'assignment_expression') return undefined;
  const value = expression.childForFieldName('right');
  return value && DEFINED_VALUES.has(value.type) ? value : undefined;
}

/**
 * The name an assignment gives what it defines, as a reader calls it: `Client.prototype.publish`
 * is `Client.publish`, `exports.parse` and `module.exports.parse` are `parse`, and
 * `module.exports = function render()` is `render` (the function's own name).
 */
function assignedName(node: Node, value: Node): string | undefined {
  const left = namedChildren(node)[0]?.childForFieldName('left')?.text.replace(/\s+/g, '');
  if (!left) return undefined;
  if (left === 'module.exports' || left === 'exports') return value.childForFieldName('name')?.text;
  return left.replace(/^(?:module\.)?exports\./, '').replace(/\.prototype\./g, '.');
}

/** The definition inside a wrapper (`export`, decorators, C++ templates, an assignment). */
function unwrap(node: Node): Node {
  switch (node.type) {
    case 'expression_statement':
      return assignedDefinition(node) ?? node;
    case 'export_statement':
      return node.childForFieldName('declaration') ?? node;
    case 'decorated_definition':
      return node.childForFieldName('definition') ?? node;
    case 'template_declaration':
      return namedChildren(node).pop() ?? node;
    default:
      return node;
  }
}

/**
 * Where a definition's members or statements are: its `body` field, or else its largest
 * multi-line child; when that child is itself a definition (a Ruby module around one method),
 * the node's own children are the parts. Statements with clauses (`try`/`except`, `if`/`else`,
 * blocks) are split at their own children, so a later clause is not glued to the body's last
 * statement under the wrong context line.
 */
function bodyOf(node: Node, definitions: ReadonlySet<string>): Node | undefined {
  let body = containerOf(node, definitions);
  // Go wraps a block's statements in one `statement_list`: split at the statements themselves.
  let only = body && body !== node ? onlyChild(body) : undefined;
  while (only && isBareList(only) && !definitions.has(only.type)) {
    body = only;
    only = onlyChild(only);
  }
  return body;
}

function onlyChild(node: Node): Node | undefined {
  const children = namedChildren(node);
  return children.length === 1 ? children[0] : undefined;
}

/** A node that is nothing but its children: no keyword or brace of its own before or after them. */
function isBareList(node: Node): boolean {
  const children = namedChildren(node);
  return children.length > 1 && children[0]!.startIndex === node.startIndex && children[children.length - 1]!.endIndex === node.endIndex;
}

function containerOf(node: Node, definitions: ReadonlySet<string>): Node | undefined {
  const field = node.childForFieldName('body');
  const reachesEnd = field !== null && field.endPosition.row + 1 >= node.endPosition.row;
  if (field && namedChildren(field).length > 0 && (reachesEnd || definitions.has(node.type))) return field;
  if (!definitions.has(node.type) && namedChildren(node).some((c) => c.startPosition.row > node.startPosition.row && !isComment(c.type))) return node;
  let best: Node | undefined;
  for (const child of namedChildren(node)) {
    const span = child.endPosition.row - child.startPosition.row;
    if (span > 0 && namedChildren(child).length > 1 && (!best || span > best.endPosition.row - best.startPosition.row)) best = child;
  }
  if (best && definitions.has(best.type)) return node;
  // JS `const f = () => {...}` keeps its body two levels down.
  if (best && (best.type === 'variable_declarator' || best.type === 'arrow_function' || best.type === 'function_expression')) return containerOf(best, definitions) ?? best;
  return best;
}

/** Name of a definition node, as a reader would call it. */
function symbolOf(node: Node): string | undefined {
  const assigned = assignedDefinition(node);
  if (assigned) return assignedName(node, assigned);
  const inner = unwrap(node);
  switch (inner.type) {
    case 'lexical_declaration':
    case 'variable_declaration': {
      const first = namedChildren(inner).find((c) => c.type === 'variable_declarator');
      return first?.childForFieldName('name')?.text;
    }
    case 'impl_item': {
      const type = inner.childForFieldName('type')?.text;
      const trait = inner.childForFieldName('trait')?.text;
      return type ? (trait ? `impl ${trait} for ${type}` : `impl ${type}`) : undefined;
    }
    case 'function_definition':
    case 'type_definition': {
      const name = inner.childForFieldName('name');
      if (name) return name.text;
      return declaratorName(inner.childForFieldName('declarator'));
    }
    case 'method_declaration': {
      // Go methods are known by their receiver: `func (p *Proxy) Run()` is `Proxy.Run`.
      const name = inner.childForFieldName('name')?.text;
      const receiver = /(\w+)(?:\[[^\]]*\])?\s*\)$/.exec(inner.childForFieldName('receiver')?.text ?? '')?.[1];
      return name && receiver ? `${receiver}.${name}` : name;
    }
    case 'type_declaration': {
      const spec = namedChildren(inner).find((c) => c.type === 'type_spec' || c.type === 'type_alias');
      return spec?.childForFieldName('name')?.text;
    }
    default:
      return inner.childForFieldName('name')?.text ?? undefined;
  }
}

/** C/C++ bury a function's name in nested declarators: `int (*f)(int)`, `Foo::bar(...)`. */
function declaratorName(node: Node | null): string | undefined {
  let current = node;
  for (let depth = 0; current && depth < 8; depth++) {
    if (['identifier', 'field_identifier', 'qualified_identifier', 'operator_name', 'destructor_name', 'type_identifier'].includes(current.type)) return current.text;
    current = current.childForFieldName('declarator') ?? namedChildren(current)[0] ?? null;
  }
  return undefined;
}
