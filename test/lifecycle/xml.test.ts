import { describe, expect, it } from "vitest";
import { childElement, childElements, childText, decodeEntities, localName, parseXml, XmlSyntaxError } from "../../agent/lifecycle/xml.js";

const fails = (text: string): XmlSyntaxError => {
  try {
    parseXml(text);
  } catch (error) {
    if (error instanceof XmlSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
};

describe("parseXml", () => {
  it("reads an EC2 answer: declaration, namespace attribute, nested items, self-closing and empty elements", () => {
    const root = parseXml(
      `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">\n  <requestId>r-1</requestId>\n` +
        `  <tagSet><item><key>Name</key><value/></item><item><key>env</key><value>prod</value></item></tagSet>\n</DescribeTagsResponse>\n`,
    );
    expect(root.name).toBe("DescribeTagsResponse");
    expect(root.attributes).toEqual({ xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/" });
    expect(childText(root, "requestId")).toBe("r-1");
    const items = childElements(childElement(root, "tagSet")!, "item");
    expect(items.map((i) => [childText(i, "key"), childText(i, "value")])).toEqual([
      ["Name", ""],
      ["env", "prod"],
    ]);
    expect(childText(root, "nextToken")).toBeUndefined();
  });

  it("decodes the five entities and numeric references in text and attributes, keeps CDATA as is, skips comments", () => {
    const root = parseXml(`<a title="x &quot;y&quot; &apos;z&apos;"><!-- note --><v>&lt;&gt;&amp;&#65;&#x42;&#x1F600;&#233;</v><c><![CDATA[<raw> &amp;]]></c></a>`);
    expect(root.attributes.title).toBe(`x "y" 'z'`);
    expect(childText(root, "v")).toBe("<>&AB😀é");
    expect(childText(root, "c")).toBe("<raw> &amp;");
    expect(decodeEntities("a &amp;amp; b")).toBe("a &amp; b"); // one level only
  });

  it("keeps prefixes in names and drops them in lookups", () => {
    const root = parseXml(`<ec2:R xmlns:ec2="urn:x"><ec2:item>1</ec2:item></ec2:R>`);
    expect(root.name).toBe("ec2:R");
    expect(localName(root)).toBe("R");
    expect(childText(root, "item")).toBe("1");
  });

  it.each([
    ["<a><b></a>", /<\/a> does not close <b>/],
    ["<a>", /never closed/],
    ["<a></a><b/>", /second element/],
    ["<a/>text", /text after the root/],
    ["text<a/>", /text before the root/],
    ["", /no root element/],
    ["<a>&nbsp;</a>", /unknown entity '&nbsp;'/],
    ["<a>AT&T</a>", /'&' that does not start/],
    ["<a>&#0;</a>", /not a character XML allows/],
    ["<a>&#xD800;</a>", /not a character XML allows/],
    ["<a>&#x110000;</a>", /not a character XML allows/],
    ["<a>&#12a;</a>", /malformed character reference/],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE/],
    ['<a b="1" b="2"/>', /duplicate attribute 'b'/],
    ["<a b=1/>", /quoted attribute value/],
    ['<a b="<"/>', /'<' in an attribute value/],
    ["<a>x ]]> y</a>", /']]>' in text/],
    ["<a>\u0001</a>", /U\+0001 is not allowed/],
    ["<a><?pi x?></a>", /processing instructions are not accepted/],
    ["<a><!-- x -- y --></a>", /'--' inside a comment/],
    ["<a><![CDATA[x</a>", /unterminated CDATA/],
    ["<a", /unclosed start tag <a>/],
    ["<1a/>", /expected a name/],
  ])("refuses %j", (text, message) => {
    const error = fails(text);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/at offset \d+$/);
  });

  it("says where the problem is", () => {
    expect(fails("<a><b>1</c></a>").offset).toBe(9);
  });
});
