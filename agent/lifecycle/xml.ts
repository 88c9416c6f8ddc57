/**
 * A small, strict XML reader for the answers of the EC2 Query API
 * (`ec2-query.ts`): enough XML for `<DescribeTagsResponse>` and
 * `<Response><Errors>…`, and nothing it does not understand.
 *
 * Reads: an optional BOM and `<?xml …?>` declaration, elements (with
 * attributes, self-closing or not), text, CDATA sections, comments, the five
 * predefined entities and numeric character references (`&#38;`, `&#x26;`).
 * Refuses, with an `XmlSyntaxError` giving the offset: DOCTYPEs (no DTD, so
 * no entity expansion), other entities, other processing instructions,
 * mismatched or unclosed tags, duplicate attributes, a bare `<` or `&` in
 * text, `]]>` outside CDATA, characters XML forbids, text or a second
 * element beside the root.
 *
 * The tree keeps each element's own text (its text children joined, CDATA
 * included) and its child elements; mixed content keeps no order between the
 * two, which the Query protocol never needs. Names keep their prefix
 * (`ec2:item`); `localName()` drops it.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, entities decoded (whitespace kept as sent). */
  text: string;
}

export class XmlSyntaxError extends Error {
  /** Offset (UTF-16 code units) in the text where the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = "XmlSyntaxError";
    this.offset = offset;
  }
}

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const SPACE = /[ \t\r\n]*/y;
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
/** Characters XML 1.0 allows (Char production), surrogate pairs allowed as pairs. */
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Decodes `&amp; &lt; &gt; &quot; &apos;` and `&#N;` / `&#xH;` in `raw`;
 * `offset` is where `raw` starts in the document, for errors.
 */
export function decodeEntities(raw: string, offset = 0): string {
  if (!raw.includes("&")) return raw;
  let out = "";
  let at = 0;
  for (;;) {
    const amp = raw.indexOf("&", at);
    if (amp < 0) return out + raw.slice(at);
    out += raw.slice(at, amp);
    const semi = raw.indexOf(";", amp);
    const ref = semi < 0 ? "" : raw.slice(amp + 1, semi);
    if (semi < 0 || ref.length === 0 || ref.length > 10) throw new XmlSyntaxError("'&' that does not start an entity or character reference", offset + amp);
    out += decodeReference(ref, offset + amp);
    at = semi + 1;
  }
}

function decodeReference(ref: string, offset: number): string {
  if (ref[0] !== "#") {
    const value = PREDEFINED[ref];
    if (value === undefined) throw new XmlSyntaxError(`unknown entity '&${ref};'`, offset);
    return value;
  }
  const digits = ref[1] === "x" ? ref.slice(2) : ref.slice(1);
  if (!(ref[1] === "x" ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits)) throw new XmlSyntaxError(`malformed character reference '&${ref};'`, offset);
  const code = Number.parseInt(digits, ref[1] === "x" ? 16 : 10);
  const allowed =
    code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
  if (!allowed) throw new XmlSyntaxError(`character reference '&${ref};' is not a character XML allows`, offset);
  return String.fromCodePoint(code);
}

/** Parses a whole document and returns its root element. */
export function parseXml(input: string): XmlElement {
  const text = input.startsWith("\uFEFF") ? input.slice(1) : input;
  const forbidden = FORBIDDEN_CHAR.exec(text);
  if (forbidden) throw new XmlSyntaxError(`character U+${forbidden[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()} is not allowed in XML`, forbidden.index);
  let pos = 0;

  const fail = (message: string, at = pos): never => {
    throw new XmlSyntaxError(message, at);
  };
  const skipSpace = (): void => {
    SPACE.lastIndex = pos;
    SPACE.exec(text);
    pos = SPACE.lastIndex;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const match = NAME.exec(text);
    if (!match) return fail("expected a name");
    pos = NAME.lastIndex;
    return match[0];
  };
  const expect = (literal: string): void => {
    if (!text.startsWith(literal, pos)) fail(`expected '${literal}'`);
    pos += literal.length;
  };
  /** Skips comments and whitespace between markup (prolog, epilog). */
  const skipMisc = (): void => {
    for (;;) {
      skipSpace();
      if (!text.startsWith("<!--", pos)) return;
      skipComment();
    }
  };
  const skipComment = (): void => {
    const end = text.indexOf("-->", pos + 4);
    if (end < 0) fail("unterminated comment");
    if (text.slice(pos + 4, end).includes("--")) fail("'--' inside a comment");
    pos = end + 3;
  };

  if (text.startsWith("<?xml", pos) && /[ \t\r\n?]/.test(text[pos + 5] ?? "")) {
    const end = text.indexOf("?>", pos);
    if (end < 0) fail("unterminated XML declaration");
    pos = end + 2;
  }
  skipMisc();
  if (text.startsWith("<!DOCTYPE", pos)) fail("DOCTYPE declarations are not accepted");
  if (text[pos] !== "<") fail(pos >= text.length ? "no root element" : "text before the root element");
  const root = readElement();
  skipMisc();
  if (pos < text.length) fail(text[pos] === "<" ? "a second element or markup after the root element" : "text after the root element");
  return root;

  function readElement(): XmlElement {
    const start = pos;
    expect("<");
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = pos;
      skipSpace();
      if (text.startsWith("/>", pos)) {
        pos += 2;
        return { name, attributes, children: [], text: "" };
      }
      if (text[pos] === ">") {
        pos += 1;
        break;
      }
      if (pos === before) fail(pos >= text.length ? `unclosed start tag <${name}>` : "expected whitespace, '>' or '/>'");
      const attrAt = pos;
      const attr = readName();
      skipSpace();
      expect("=");
      skipSpace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") fail("expected a quoted attribute value");
      const end = text.indexOf(quote!, pos + 1);
      if (end < 0) fail("unterminated attribute value");
      const raw = text.slice(pos + 1, end);
      if (raw.includes("<")) fail("'<' in an attribute value", pos + 1 + raw.indexOf("<"));
      if (Object.hasOwn(attributes, attr)) fail(`duplicate attribute '${attr}'`, attrAt);
      attributes[attr] = decodeEntities(raw, pos + 1);
      pos = end + 1;
    }

    const children: XmlElement[] = [];
    let content = "";
    for (;;) {
      const lt = text.indexOf("<", pos);
      if (lt < 0) fail(`<${name}> opened at offset ${start} is never closed`, text.length);
      const raw = text.slice(pos, lt);
      if (raw.includes("]]>")) fail("']]>' in text", pos + raw.indexOf("]]>"));
      content += decodeEntities(raw, pos);
      pos = lt;
      if (text.startsWith("</", pos)) {
        pos += 2;
        const closeAt = pos;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> does not close <${name}> (opened at offset ${start})`, closeAt);
        skipSpace();
        expect(">");
        return { name, attributes, children, text: content };
      }
      if (text.startsWith("<!--", pos)) {
        skipComment();
      } else if (text.startsWith("<![CDATA[", pos)) {
        const end = text.indexOf("]]>", pos + 9);
        if (end < 0) fail("unterminated CDATA section");
        content += text.slice(pos + 9, end);
        pos = end + 3;
      } else if (text.startsWith("<!", pos) || text.startsWith("<?", pos)) {
        fail("declarations and processing instructions are not accepted inside elements");
      } else {
        children.push(readElement());
      }
    }
  }
}

/** The name without its namespace prefix (`ec2:item` → `item`). */
export function localName(element: XmlElement): string {
  const colon = element.name.indexOf(":");
  return colon < 0 ? element.name : element.name.slice(colon + 1);
}

/** The first child element with this local name. */
export function childElement(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => localName(c) === name);
}

/** Every child element with this local name, in document order. */
export function childElements(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => localName(c) === name);
}

/** The text of the first child element with this local name, or undefined when there is none. */
export function childText(element: XmlElement, name: string): string | undefined {
  return childElement(element, name)?.text;
}
