import Foundation
import Testing

@testable import AgoraMail

/// The wire format, as plain values: header safety, quoted-printable limits, encoded words, dot-stuffing.
struct MailFormatTests {
    let from = try! MailAddress(parsing: "Agora <no-reply@agora.example>")
    let to = try! MailAddress("ada@example.com")

    func rendered(_ mail: Mail) -> String { String(decoding: mail.rfc5322(date: Date(timeIntervalSince1970: 0), messageID: "id@x"), as: UTF8.self) }

    @Test func addressesThatCouldBreakAHeaderOrACommandAreRefused() {
        for bad in ["a@b.c\r\nBcc: x@y.z", "a b@c.de", "<a@b.cd>", "a@b.c>", "noatsign", "@b.cd", "ab@", "a@b@c.de", "ü@b.de", "a,b@c.de"] {
            #expect(throws: MailError.self, "\(bad.debugDescription)") { try MailAddress(bad) }
        }
        #expect(throws: MailError.self) { try MailAddress("a@b.cd", displayName: "Evil\r\nBcc: x@y.z") }
        let parsed = try? MailAddress(parsing: "\"Agora Shop\" <shop@agora.example>")
        #expect(parsed?.address == "shop@agora.example" && parsed?.displayName == "Agora Shop")
    }

    @Test func aSubjectWithLineBreaksCannotAddHeaders() {
        let text = rendered(Mail(from: from, to: to, subject: "Hello\r\nBcc: victim@example.com", text: "hi"))
        let headers = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc:") })
        #expect(headers.contains("Subject: Hello Bcc: victim@example.com"))
    }

    @Test func headersAreComplete() {
        let text = rendered(Mail(from: from, to: to, subject: "Confirm", text: "x"))
        #expect(text.hasPrefix("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: \"Agora\" <no-reply@agora.example>\r\nTo: ada@example.com\r\n"))
        for header in ["Subject: Confirm", "Message-ID: <id@x>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"] {
            #expect(text.contains("\r\n\(header)\r\n"))
        }
    }

    @Test func nonASCIISubjectsBecomeEncodedWordsThatNeverSplitACharacter() {
        let subject = String(repeating: "Grüße aus Köln 🎉 ", count: 6)
        let encoded = Mail.encodedWords(subject)
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        var decoded: [UInt8] = []
        for word in words {
            #expect(word.count <= 75 && word.hasPrefix("=?utf-8?b?") && word.hasSuffix("?="))
            let payload = String(word.dropFirst(10).dropLast(2))
            let bytes = [UInt8](Data(base64Encoded: payload)!)
            #expect(String(validating: bytes, as: UTF8.self) != nil, "each word is valid UTF-8 on its own")
            decoded += bytes
        }
        #expect(String(decoding: decoded, as: UTF8.self) == subject)
        #expect(Mail.encodedWords("Plain ASCII") == "Plain ASCII")
    }

    @Test func quotedPrintableKeepsLinesShortAndEscapesWhatMustBe() {
        let link = "http://localhost:8080/verify-email?token=" + String(repeating: "A_b-9", count: 20)
        let body = "Hello Zoë,\n\n\(link)\ntrailing space \nequals = sign\r\nunicode: €\n.starts with a dot"
        let qp = String(decoding: Mail.quotedPrintable(body), as: UTF8.self)
        let lines = qp.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 76 }, "\(lines.map(\.count))")
        #expect(qp.utf8.allSatisfy { $0 < 0x80 }, "7-bit clean")
        #expect(qp.contains("token=3D"))
        #expect(qp.contains("trailing space=20\r\n"))
        #expect(qp.contains("Zo=C3=AB"))
        #expect(qp.contains("=E2=82=AC"))
        #expect(Self.decodeQP(qp) == body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
    }

    @Test func dotStuffingDoublesLeadingDotsAndEndsTheData() {
        let stuffed = String(decoding: SMTPClient.dotStuffed(Array("a\r\n.\r\n..b\r\nc.d".utf8)), as: UTF8.self)
        #expect(stuffed == "a\r\n..\r\n...b\r\nc.d\r\n.\r\n")
        #expect(String(decoding: SMTPClient.dotStuffed(Array(".x\r\n".utf8)), as: UTF8.self) == "..x\r\n.\r\n")
    }

    @Test func retryDelaysDoubleUpToTheCap() {
        let settings = MailDispatcher.Settings(retryDelay: .seconds(30), maxRetryDelay: .seconds(600))
        #expect((1...7).map { settings.delay(afterAttempt: $0) } == [30, 60, 120, 240, 480, 600, 600].map { Duration.seconds($0) })
    }

    static func decodeQP(_ text: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var i = 0
        while i < input.count {
            if input[i] == UInt8(ascii: "="), i + 2 < input.count, let byte = UInt8(String(decoding: input[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                i += 3
            } else {
                bytes.append(input[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
