// Builds zip files byte by byte for tests, including the ones no zip tool would write:
// sizes that lie, names with ../, the encryption flag, thousands of entries.
import { crc32, deflateRawSync } from 'node:zlib';

/**
 * @param {Array<{name: string, data?: Buffer|string, deflate?: boolean, declaredSize?: number, encrypted?: boolean}>} entries
 */
export function makeZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const e of entries) {
    const raw = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'utf8');
    const body = e.deflate === false ? raw : deflateRawSync(raw);
    const method = e.deflate === false ? 0 : 8;
    const name = Buffer.from(e.name, 'utf8');
    const size = e.declaredSize ?? raw.length;
    const flags = (e.encrypted ? 1 : 0) | 0x800; // bit 11: UTF-8 names
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const P = 'http://schemas.openxmlformats.org/presentationml/2006/main';
const A = 'http://schemas.openxmlformats.org/drawingml/2006/main';
const R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** A minimal PresentationML deck as PowerPoint lays it out: placeholders, a notes page per slide. */
export function deckEntries(slides, { slideCount = slides.length } = {}) {
  const ids = Array.from({ length: slideCount }, (_, i) => `<p:sldId id="${256 + i}" r:id="rId${i + 1}"/>`).join('');
  const rels = Array.from({ length: slideCount }, (_, i) => `<Relationship Id="rId${i + 1}" Type="${REL}/slide" Target="slides/slide${i + 1}.xml"/>`).join('');
  const entries = [
    { name: '[Content_Types].xml', data: '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' },
    { name: 'ppt/presentation.xml', data: `<?xml version="1.0"?><p:presentation xmlns:p="${P}" xmlns:r="${R}"><p:sldIdLst>${ids}</p:sldIdLst></p:presentation>` },
    { name: 'ppt/_rels/presentation.xml.rels', data: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rels}</Relationships>` },
  ];
  const para = (text, extra = '') => `<a:p>${extra}<a:r><a:t>${text}</a:t></a:r></a:p>`;
  const sp = (ph, paras) => `<p:sp><p:nvSpPr><p:cNvPr id="2" name="x"/><p:cNvSpPr/><p:nvPr>${ph}</p:nvPr></p:nvSpPr><p:txBody>${paras}</p:txBody></p:sp>`;
  slides.forEach((s, i) => {
    const n = i + 1;
    const shapes = [
      s.number ? sp('<p:ph type="sldNum"/>', para(String(n))) : '',
      sp('<p:ph type="title"/>', para(s.title)),
      s.body ? sp('<p:ph idx="1"/>', s.body.map((b) => (b.startsWith('!') ? para(b.slice(1), '<a:pPr><a:buNone/></a:pPr>') : para(b))).join('')) : '',
    ].join('');
    entries.push({ name: `ppt/slides/slide${n}.xml`, data: `<?xml version="1.0"?><p:sld xmlns:p="${P}" xmlns:a="${A}" xmlns:r="${R}"><p:cSld><p:spTree>${shapes}</p:spTree></p:cSld></p:sld>` });
    if (s.notes) {
      entries.push({ name: `ppt/slides/_rels/slide${n}.xml.rels`, data: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId2" Type="${REL}/notesSlide" Target="../notesSlides/notesSlide${n}.xml"/></Relationships>` });
      const notes = sp('<p:ph type="sldImg"/>', '') + sp('<p:ph type="body" idx="1"/>', s.notes.map((t) => para(t)).join('')) + sp('<p:ph type="sldNum"/>', para(String(n)));
      entries.push({ name: `ppt/notesSlides/notesSlide${n}.xml`, data: `<?xml version="1.0"?><p:notes xmlns:p="${P}" xmlns:a="${A}"><p:cSld><p:spTree>${notes}</p:spTree></p:cSld></p:notes>` });
    }
  });
  return entries;
}
