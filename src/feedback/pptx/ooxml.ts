// The text of a PresentationML deck: slides in the order of presentation.xml, each with its
// title, its other text in reading order (shape tree order, as PowerPoint reads it to a screen
// reader) and its speaker notes.
import { posix } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { PptxError } from './errors.js';
import { PPTX_LIMITS } from './limits.js';
import type { ZipReader } from './zip.js';

export interface PptxParagraph {
  text: string;
  bullet: boolean;
}

export interface PptxSlide {
  /** 1-based, as PowerPoint numbers it. */
  index: number;
  title: string;
  body: PptxParagraph[];
  notes: string[];
}

type Node = Record<string, unknown>;

// preserveOrder keeps shapes and runs in document order; entity limits are the parser's own.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  htmlEntities: false,
});

const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/';
const TITLE_TYPES = new Set(['title', 'ctrTitle']);
// Placeholders that repeat the deck's furniture, not what the presenter wrote.
const SKIP_TYPES = new Set(['sldNum', 'dt', 'ftr', 'hdr', 'sldImg']);
// Placeholders whose paragraphs are bullets unless they say buNone.
const BULLETED_TYPES = new Set(['body', 'obj']);

function parse(xml: string, name: string): Node[] {
  // A deck never declares a DTD; refusing one rules out entity tricks altogether.
  if (xml.includes('<!DOCTYPE') || xml.includes('<!ENTITY')) throw new PptxError(400, 'PPTX_INVALID', `${name} declares a DTD, which no office program writes; save the deck again`);
  try {
    return parser.parse(xml) as Node[];
  } catch (error) {
    throw new PptxError(400, 'PPTX_INVALID', `${name} is not well-formed XML (${(error as Error).message.slice(0, 120)}); save the deck again`);
  }
}

const tagOf = (node: Node): string | undefined => Object.keys(node).find((k) => k !== ':@');
const childrenOf = (node: Node): Node[] => {
  const tag = tagOf(node);
  const value = tag === undefined ? undefined : node[tag];
  return Array.isArray(value) ? (value as Node[]) : [];
};
const attr = (node: Node, name: string): string | undefined => {
  const attrs = node[':@'] as Record<string, unknown> | undefined;
  const value = attrs?.[name];
  return typeof value === 'string' ? value : undefined;
};

function* descendants(nodes: readonly Node[], tag: string): Generator<Node> {
  // An explicit stack: XML nesting is the file's choice, the call stack is not.
  const stack: Node[] = [...nodes].reverse();
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if (tagOf(node) === tag) {
      yield node;
      continue;
    }
    const children = childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Node);
  }
}

function first(nodes: readonly Node[], tag: string): Node | undefined {
  for (const node of descendants(nodes, tag)) return node;
  return undefined;
}

// A paragraph's text: runs and fields in order, line breaks as spaces.
function paragraphText(p: Node): string {
  let text = '';
  const stack: Node[] = [...childrenOf(p)].reverse();
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    const tag = tagOf(node);
    if (tag === '#text') text += String(node['#text']);
    else if (tag === 'a:br') text += ' ';
    else if (tag !== 'a:pPr' && tag !== 'a:rPr' && tag !== 'a:endParaRPr') {
      const children = childrenOf(node);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Node);
    }
  }
  return text.replace(/\s+/g, ' ').trim();
}

interface Shape {
  type: string | undefined;
  placeholder: boolean;
  paragraphs: PptxParagraph[];
}

function shapes(tree: readonly Node[]): Shape[] {
  const spTree = first(tree, 'p:spTree');
  if (spTree === undefined) return [];
  const out: Shape[] = [];
  // Top-level shapes in tree order; a group or a table contributes its paragraphs in its own order.
  for (const node of childrenOf(spTree)) {
    const tag = tagOf(node);
    if (tag !== 'p:sp' && tag !== 'p:grpSp' && tag !== 'p:graphicFrame') continue;
    const ph = tag === 'p:sp' ? first(childrenOf(node).filter((c) => tagOf(c) === 'p:nvSpPr'), 'p:ph') : undefined;
    const type = ph === undefined ? undefined : attr(ph, 'type') ?? 'body';
    if (type !== undefined && SKIP_TYPES.has(type)) continue;
    const bulleted = type !== undefined && BULLETED_TYPES.has(type);
    const paragraphs: PptxParagraph[] = [];
    for (const p of descendants([node], 'a:p')) {
      const text = paragraphText(p);
      if (text === '') continue;
      const pPr = childrenOf(p).find((c) => tagOf(c) === 'a:pPr');
      const marks = pPr === undefined ? [] : childrenOf(pPr).map(tagOf);
      const bullet = !marks.includes('a:buNone') && (bulleted || marks.includes('a:buChar') || marks.includes('a:buAutoNum'));
      paragraphs.push({ text, bullet });
    }
    if (paragraphs.length > 0) out.push({ type, placeholder: ph !== undefined, paragraphs });
  }
  return out;
}

function relationships(xml: string | undefined, base: string, name: string): Map<string, { type: string; target: string }> {
  const rels = new Map<string, { type: string; target: string }>();
  if (xml === undefined) return rels;
  for (const rel of descendants(parse(xml, name), 'Relationship')) {
    const id = attr(rel, 'Id');
    const target = attr(rel, 'Target');
    if (id === undefined || target === undefined || attr(rel, 'TargetMode') === 'External') continue;
    // Targets are relative to the part's folder; a leading / is from the package root.
    const path = target.startsWith('/') ? posix.normalize(target.slice(1)) : posix.join(base, target);
    rels.set(id, { type: attr(rel, 'Type') ?? '', target: path });
  }
  return rels;
}

const relsOf = (part: string): string => posix.join(posix.dirname(part), '_rels', `${posix.basename(part)}.rels`);

export async function readSlides(zip: ZipReader): Promise<PptxSlide[]> {
  const presentation = await zip.read('ppt/presentation.xml');
  if (presentation === undefined) throw new PptxError(422, 'PPTX_NO_SLIDES', 'the file is a zip but not a PowerPoint deck (no ppt/presentation.xml); export it as .pptx');
  const rels = relationships(await zip.read(relsOf('ppt/presentation.xml')), 'ppt', 'presentation.xml.rels');
  const ids = [...descendants(parse(presentation, 'presentation.xml'), 'p:sldId')];
  if (ids.length === 0) throw new PptxError(422, 'PPTX_NO_SLIDES', 'the deck has no slides; add slides and upload it again');
  if (ids.length > PPTX_LIMITS.slides) throw new PptxError(413, 'PPTX_TOO_MANY_SLIDES', `the deck has ${ids.length} slides; at most ${PPTX_LIMITS.slides} are analysed — split it into parts`);
  const slides: PptxSlide[] = [];
  for (const id of ids) {
    const rel = rels.get(attr(id, 'r:id') ?? '');
    if (rel === undefined || !rel.type.startsWith(REL_NS) || !rel.type.endsWith('/slide')) continue;
    const xml = await zip.read(rel.target);
    if (xml === undefined) continue;
    const tree = parse(xml, rel.target);
    const all = shapes(tree);
    // The title placeholder; a deck without one (text boxes only) has its first text as the title.
    const titleShape = all.find((s) => s.type !== undefined && TITLE_TYPES.has(s.type)) ?? all[0];
    const title = titleShape === undefined ? '' : titleShape.paragraphs.map((p) => p.text).join(' ');
    const body = all.filter((s) => s !== titleShape).flatMap((s) => s.paragraphs);
    const slideRels = relationships(await zip.read(relsOf(rel.target)), posix.dirname(rel.target), relsOf(rel.target));
    const notesRel = [...slideRels.values()].find((r) => r.type.endsWith('/notesSlide'));
    const notesXml = notesRel === undefined ? undefined : await zip.read(notesRel.target);
    const notes = notesXml === undefined ? [] : shapes(parse(notesXml, notesRel?.target ?? 'notes')).flatMap((s) => s.paragraphs.map((p) => p.text));
    slides.push({ index: slides.length + 1, title, body, notes });
  }
  return slides;
}
