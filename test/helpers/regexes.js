// Every regular expression in the TypeScript sources, found with the TypeScript compiler's parser
// so that a new one is checked without anyone listing it: regex literals, `new RegExp(…)` /
// `RegExp(…)` (their arguments folded from string literals, templates and same-file constants),
// and JSON-schema `pattern: '…'` strings (Ajv compiles them with the `u` flag).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The string value of an expression when it is known at compile time, else undefined. */
function fold(node, constants) {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) return fold(node.expression, constants);
  if (ts.isIdentifier(node)) {
    const init = constants.get(node.text);
    return init === undefined ? undefined : fold(init, constants);
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = fold(node.left, constants);
    const right = fold(node.right, constants);
    return left === undefined || right === undefined ? undefined : left + right;
  }
  if (ts.isTemplateExpression(node)) {
    let text = node.head.text;
    for (const span of node.templateSpans) {
      const value = fold(span.expression, constants);
      if (value === undefined) return undefined;
      text += value + span.literal.text;
    }
    return text;
  }
  return undefined;
}

/**
 * Regexes of one source text: `{ where, source, flags }`, or `{ where, unresolved }` for a
 * RegExp built from something not known at compile time (which cannot be checked).
 */
export function regexesIn(text, name) {
  const file = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const constants = new Map();
  const found = [];
  const where = (node) => `${name}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;
  const visit = (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && (node.parent.flags & ts.NodeFlags.Const) !== 0) {
      constants.set(node.name.text, node.initializer);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  const collect = (node) => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const raw = node.getText(file);
      const slash = raw.lastIndexOf('/');
      found.push({ where: where(node), source: raw.slice(1, slash), flags: raw.slice(slash + 1) });
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [pattern, flags] = node.arguments ?? [];
      const source = pattern === undefined ? '' : fold(pattern, constants);
      const flagText = flags === undefined ? '' : fold(flags, constants);
      if (source === undefined || flagText === undefined) found.push({ where: where(node), unresolved: node.getText(file).slice(0, 120) });
      else found.push({ where: where(node), source, flags: flagText });
    } else if (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) && node.name.text === 'pattern') {
      const source = fold(node.initializer, constants);
      if (source === undefined) found.push({ where: where(node), unresolved: node.getText(file).slice(0, 120) });
      else found.push({ where: where(node), source, flags: 'u' });
    }
    ts.forEachChild(node, collect);
  };
  collect(file);
  return found;
}

/** Every regex under `dir` (all of src/, whoever edits it). */
export function regexesUnder(dir, root) {
  return sourceFiles(dir).flatMap((path) => regexesIn(readFileSync(path, 'utf8'), relative(root, path)));
}
