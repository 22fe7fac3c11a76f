import Foundation
import Realtime

/// The pieces of a server-rendered share page: escaping for HTML text and attributes, JSON-LD that cannot end its
/// `<script>` early, and the PWA's `index.html` with a page's head and first view put into it.
enum ShareHTML {
    /// `text` safe inside an element or a quoted attribute: `& < > " '` become references.
    static func escape(_ text: some StringProtocol) -> String {
        substituting(text) { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            default: nil
            }
        }
    }

    /// `text` with each scalar `replacement` names replaced by what it returns.
    static func substituting(_ text: some StringProtocol, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) { out += replaced } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// At most `limit` characters of `text` on one line (whitespace runs become one space), cut at a word with "…".
    static func summary(_ text: String, limit: Int = 200) -> String {
        let words = text.split(whereSeparator: { $0.isWhitespace || $0.isNewline })
        var out = ""
        for word in words {
            if out.count + word.count + 1 > limit {
                return out.isEmpty ? String(word.prefix(limit - 1)) + "…" : out + "…"
            }
            out += out.isEmpty ? String(word) : " " + word
        }
        return out
    }

    /// `value` as the body of a `<script type="application/ld+json">`: `<`, `>` and `&` are written as `\u003c`,
    /// `\u003e` and `\u0026` (JSON reads them the same), so no text in it can close the script or open a comment.
    static func jsonLD(_ value: JSON) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return substituting(json) { scalar in
            switch scalar {
            case "<": "\\u003c"
            case ">": "\\u003e"
            case "&": "\\u0026"
            case "\u{2028}": "\\u2028"
            case "\u{2029}": "\\u2029"
            default: nil
            }
        }
    }

    /// The PWA's `index.html`, cut where a share page puts its own title, description, head tags and first view.
    /// The app boots on the page as on any other address, and draws over the server's view.
    struct Template: Sendable {
        /// The head up to `</head>`, without its `<title>` and `<meta name="description">` (the page writes its own).
        var head: String
        /// From `</head>` to the end of `<main id="view" …>`.
        var beforeView: String
        /// From `</main>` on.
        var afterView: String

        /// Cuts `html`; nil when it lacks one of the places (a changed `index.html`: the pages then use `fallback`).
        init?(_ html: String) {
            guard let headEnd = html.range(of: "</head>"), let main = html.range(of: #"<main id="view""#, range: headEnd.upperBound..<html.endIndex),
                let mainOpenEnd = html.range(of: ">", range: main.upperBound..<html.endIndex),
                let mainEnd = html.range(of: "</main>", range: mainOpenEnd.upperBound..<html.endIndex)
            else { return nil }
            var head = String(html[..<headEnd.lowerBound])
            guard let title = head.range(of: "<title>"), let titleEnd = head.range(of: "</title>", range: title.upperBound..<head.endIndex) else { return nil }
            head.removeSubrange(title.lowerBound..<titleEnd.upperBound)
            guard let description = head.range(of: #"<meta name="description""#),
                let descriptionEnd = head.range(of: ">", range: description.upperBound..<head.endIndex)
            else { return nil }
            head.removeSubrange(description.lowerBound..<descriptionEnd.upperBound)
            self.head = head
            beforeView = String(html[headEnd.lowerBound..<mainOpenEnd.upperBound])
            afterView = String(html[mainEnd.lowerBound...])
        }

        /// A bare page that still boots the PWA, for when `index.html` cannot be read or cut.
        static let fallback = Template(
            #"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>Agora</title>
              <meta name="description" content="Agora">
              <link rel="stylesheet" href="/styles.css">
              <script type="module" src="/app/main.js"></script>
            </head>
            <body>
              <main id="view" tabindex="-1"></main>
            </body>
            </html>
            """#
        )!

        /// Reads `index.html` from the public folder.
        static func load(publicDirectory: String) -> Template? {
            guard let html = try? String(contentsOfFile: publicDirectory + "/index.html", encoding: .utf8) else { return nil }
            return Template(html)
        }

        /// The page: `title` and `description` are plain text (escaped here); `extra` (head tags) and `view` are
        /// HTML made with `escape`.
        func render(title: String, description: String, head extra: String, view: String) -> String {
            head + "<title>" + escape(title) + "</title>\n  " + #"<meta name="description" content=""# + escape(description) + #"">"# + extra
                + beforeView + view + afterView
        }
    }
}
