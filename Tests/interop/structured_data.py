"""Reads a share page the way a crawler does and prints what it finds, as JSON on stdout.

    python3 structured_data.py PAGE.html URL

- "jsonld" and "opengraph": extruct's extraction (uniform=True: OpenGraph as a flat dict of og:* properties);
- "title", "h1", "scripts", "scriptSources": what Python's own HTML parser sees: the document title and first h1
  as text, and every <script> element, so a product title such as `</script><script>…` that escaped its text would
  show up here as an extra script.

Used by Tests/CommerceTests/SharePagesTests.swift, which checks every field.
"""
import json
import sys
from html.parser import HTMLParser

import extruct


class Outline(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.h1, self.scripts, self.sources = "", None, 0, []
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
            attributes = dict(attrs)
            self.sources.append(attributes.get("src") or attributes.get("type") or "")
        if tag in ("title", "h1") and (tag == "title" or self.h1 is None):
            self._in = tag
            if tag == "h1":
                self.h1 = ""

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def main():
    path, url = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as page:
        html = page.read()
    found = extruct.extract(html, base_url=url, syntaxes=["json-ld", "opengraph"], uniform=True)
    outline = Outline()
    outline.feed(html)
    print(json.dumps({
        "jsonld": found.get("json-ld", []),
        "opengraph": found.get("opengraph", []),
        "title": outline.title,
        "h1": outline.h1,
        "scripts": outline.scripts,
        "scriptSources": outline.sources,
    }))


if __name__ == "__main__":
    main()
