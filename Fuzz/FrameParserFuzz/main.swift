// A libFuzzer target for the frame codec, and the replay tool that turns its corpus into a regression check.
//
// Built by scripts/fuzz.sh with `-sanitize=fuzzer -parse-as-library -D FUZZING`, libFuzzer supplies `main`
// and calls `fuzz` with generated inputs. Built normally (`swift run FrameParserFuzz Fuzz/corpus`), the
// top-level code below replays every file in the given directories through the same function.
//
// Input format: byte 0 chooses where the rest is split in two, so the parser sees frames cut at every
// possible point (RFC 6455 allows any TCP segmentation); bytes 1... are what a client sends a server.
//
// Byte 0 from 0xF8 up instead selects the compressed mode, where permessage-deflate (RFC 7692) was negotiated: the
// parser accepts RSV1 and the assembler inflates compressed messages as the server does. Its low three bits say how
// the client compresses (`FuzzRun.Compression`), byte 1 then chooses the split, and bytes 2... are the stream. (Inputs
// that start below 0xF8, every seed in Fuzz/corpus before this mode, mean what they always meant; only splits in
// the last 3% of an uncompressed input are no longer chosen.)
import AgoraWebSocket
import NIOCore

#if !FUZZING
    import Foundation
#endif

/// libFuzzer's entry point: parses one input and crashes only if the codec breaks one of its own invariants.
@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    checkInvariants(UnsafeBufferPointer(start: data, count: size))
    return 0
}

#if FUZZING
    /// libFuzzer's driver: parses its flags, then calls `callback` with generated inputs until told to stop.
    /// (`@_extern(c)` needs `-enable-experimental-feature Extern`, which scripts/fuzz.sh passes.)
    @_extern(c, "LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// The program's entry point under libFuzzer.
    ///
    /// SwiftPM links every Swift executable with `--defsym main=FrameParserFuzz_main` (the symbol its main.swift
    /// would define, renamed so tests can link the module). Under -parse-as-library nothing defines it and
    /// libFuzzer's own `main` is never linked, so we supply it and hand over to libFuzzer's driver.
    @_cdecl("FrameParserFuzz_main")
    package func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        var argc = argc
        var argv = argv
        return runFuzzerDriver(&argc, &argv, fuzz)
    }
#endif

/// Runs one input through the parser and assembler, checking everything that must hold for any input.
///
/// - Returns: what the whole input produced (nil for an empty one), for the replay's `--verbose`.
@discardableResult
func checkInvariants(_ input: UnsafeBufferPointer<UInt8>) -> FuzzRun? {
    guard let first = input.first else { return nil }
    var compression: FuzzRun.Compression?
    var rest = input.dropFirst()
    if first >= FuzzRun.Compression.firstSelector {
        compression = FuzzRun.Compression(selector: first)
        rest = rest.dropFirst()
    }
    guard let selector = compression == nil ? first : input.dropFirst().first else { return nil }
    let stream = Array(rest)
    // Scaled rather than taken modulo the length, so a cut can land anywhere in a long input.
    let split = stream.count * Int(selector) / Int(UInt8.max)

    let whole = FuzzRun(stream[...], split: stream.count, compression: compression)
    let chopped = FuzzRun(stream[...], split: split, compression: compression)
    // Where the bytes are cut must not change what they mean.
    precondition(
        whole.frames == chopped.frames && whole.events == chopped.events && whole.failure == chopped.failure,
        "result depends on where the input was split"
    )

    for frame in whole.frames {
        // Every frame the parser accepts must survive encoding, masked as a client would, and parsing back.
        var encoded = ByteBuffer()
        FrameEncoder.encode(frame, maskingKey: 0xA5C3_0F96, into: &encoded)
        var parser = FrameParser(maxFrameSize: FuzzRun.maxFrameSize, requireMasked: true)
        parser.allowsCompression = compression != nil
        let reparsed = try? parser.next(&encoded)
        precondition(reparsed == frame && encoded.readableBytes == 0, "frame did not survive an encode/parse round trip")
    }

    // The incremental validator must agree with the standard library on arbitrary bytes.
    var validator = UTF8Validator()
    let valid = stream.withUnsafeBytes { validator.feed($0) } && validator.isComplete
    precondition(valid == (String(validating: stream, as: UTF8.self) != nil), "UTF8Validator disagrees with the standard library")

    if compression != nil { checkCompressed(whole) }
    return whole
}

/// What must hold once permessage-deflate is on, whatever the input.
func checkCompressed(_ run: FuzzRun) {
    // A peer can only make us fail the connection as RFC 6455 and 7692 say: 1002, 1007 or 1009, never anything else.
    if let failure = run.failure {
        precondition([1002, 1007, 1009].contains(failure), "compressed input failed with close code \(failure)")
    }
    for event in run.events {
        let payload: ByteBuffer
        let opcode: WebSocketOpcode
        switch event {
        case .text(let text):
            payload = ByteBuffer(string: text)
            opcode = .text
        case .binary(let bytes):
            payload = bytes
            opcode = .binary
        case .ping, .pong, .close:
            continue
        }
        // However little went in, no message comes out past the limit: a bomb is cut off, not inflated.
        precondition(payload.readableBytes <= FuzzRun.maxMessageSize, "a message of \(payload.readableBytes) bytes passed the limit")

        // Every message accepted comes back the same when compressed as the server compresses (each window size
        // zlib can make, no context) and received again, or is refused as too big when its compressed form passes
        // the limit (incompressible messages grow by a few bytes).
        for deflater in fuzzDeflaters {
            let compressed = deflater.compress(payload, resetAfter: true, allocator: ByteBufferAllocator())
            var bytes = ByteBuffer()
            FrameEncoder.encode(WebSocketFrame(rsv: 0b100, opcode: opcode, payload: compressed), maskingKey: 0x1234_5678, into: &bytes)
            let again = FuzzRun(Array(bytes.readableBytesView)[...], split: bytes.readableBytes, compression: FuzzRun.Compression(selector: 0xF8))
            if compressed.readableBytes > FuzzRun.maxMessageSize {
                precondition(again.events.isEmpty && again.failure == 1009, "an oversized compressed message was not refused with 1009")
            } else {
                precondition(again.failure == nil && again.events == [event], "a message did not survive compression and inflation")
            }
        }
    }
}

/// The compressors `checkCompressed` uses: the largest and the smallest window zlib can compress with, made once (each
/// holds up to 262 KiB of zlib state). libFuzzer runs inputs one at a time on one thread.
nonisolated(unsafe) let fuzzDeflaters = [9, 15].map { Deflater(windowBits: $0, level: 6, memLevel: 8) }

/// The frames and events one input produced, and the close code it ended with, if any.
struct FuzzRun {
    /// The frame limit: larger lengths are reachable only through a header, which is the point of that check.
    static let maxFrameSize = 1 << 16
    /// The message limit: small enough that fragments within -max_len=4096 can exceed it, and that a compressed
    /// message of a few hundred bytes can inflate past it.
    static let maxMessageSize = 1 << 11

    /// How the client compresses, in the compressed mode: what the server's inflater for the connection looks like.
    struct Compression {
        /// Inputs whose first byte is at least this are in the compressed mode.
        static let firstSelector: UInt8 = 0xF8
        /// The client keeps its context (no `client_no_context_takeover`): a message may refer to earlier ones, so
        /// the inflater is not reset between messages.
        var keepsContext: Bool
        /// The client's window, `client_max_window_bits`: the inflater's window when the client keeps its context
        /// (15, 12, 9 or 8). Without context the server inflates with its shared 15-bit inflater, as it does.
        var windowBits: Int

        /// Bit 0: context kept; bits 1-2: the window.
        init(selector: UInt8) {
            keepsContext = selector & 1 != 0
            windowBits = keepsContext ? [15, 12, 9, 8][Int(selector >> 1) & 3] : 15
        }
    }

    var frames: [WebSocketFrame] = []
    var events: [MessageAssembler.Event] = []
    var failure: UInt16?

    /// Feeds `stream[..<split]`, drains the parser, then feeds the rest and drains it again.
    init(_ stream: ArraySlice<UInt8>, split: Int, compression: Compression? = nil) {
        var parser = FrameParser(maxFrameSize: Self.maxFrameSize, requireMasked: true)
        parser.allowsCompression = compression != nil
        var assembler = MessageAssembler(maxMessageSize: Self.maxMessageSize)
        // A fresh inflater for each run, so the two runs of one input cannot share state.
        let inflater = compression.map { Inflater(windowBits: $0.windowBits) }
        let resetAfter = !(compression?.keepsContext ?? false)
        var buffer = ByteBuffer(bytes: stream.prefix(split))
        do {
            try self.drain(&buffer, parser: &parser, assembler: &assembler, inflater: inflater, resetAfter: resetAfter)
            buffer.writeBytes(stream.dropFirst(split))
            try self.drain(&buffer, parser: &parser, assembler: &assembler, inflater: inflater, resetAfter: resetAfter)
        } catch {
            self.failure = error.closeCode
        }
    }

    private mutating func drain(
        _ buffer: inout ByteBuffer,
        parser: inout FrameParser,
        assembler: inout MessageAssembler,
        inflater: Inflater?,
        resetAfter: Bool
    ) throws(WebSocketError) {
        while let frame = try parser.next(&buffer) {
            self.frames.append(frame)
            let event: MessageAssembler.Event?
            if let inflater {
                event = try assembler.receive(frame) { payload, limit throws(WebSocketError) in
                    try inflater.decompress(payload, limit: limit, resetAfter: resetAfter, allocator: ByteBufferAllocator())
                }
            } else {
                event = try assembler.receive(frame)
            }
            if let event {
                self.events.append(event)
            }
        }
    }
}

#if !FUZZING
    // A declaration, not a statement: the compiler rejects top-level statements under -parse-as-library even
    // inside an inactive #if, but in an ordinary build main.swift runs this initializer eagerly, in order.
    let replayedInputs = replayCorpus(
        directories: CommandLine.arguments.dropFirst().filter { $0 != "--verbose" }, verbose: CommandLine.arguments.contains("--verbose"))

    /// Replays every file in `directories` through `checkInvariants`, printing how many there were, and with
    /// `verbose` what each one came to (to check that a new seed does what its name says).
    func replayCorpus(directories: [String], verbose: Bool) -> Int {
        guard !directories.isEmpty else {
            print("usage: FrameParserFuzz [--verbose] <corpus directory>...")
            exit(2)
        }
        var replayed = 0
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
                print("cannot read directory \(directory)")
                exit(1)
            }
            for name in names.sorted() {
                guard let data = FileManager.default.contents(atPath: URL(fileURLWithPath: directory).appendingPathComponent(name).path) else {
                    continue
                }
                let run = [UInt8](data).withUnsafeBufferPointer { checkInvariants($0) }
                if verbose, let run {
                    let outcome = run.failure.map { "fails with \($0)" } ?? "ends cleanly"
                    let events = run.events.map { event in
                        switch event {
                        case .text(let text): "text \(text.utf8.count)"
                        case .binary(let bytes): "binary \(bytes.readableBytes)"
                        case .ping(let bytes): "ping \(bytes.readableBytes)"
                        case .pong(let bytes): "pong \(bytes.readableBytes)"
                        case .close(let code, _): "close \(code.map(String.init) ?? "-")"
                        }
                    }
                    print("\(name): \(run.frames.count) frames, events [\(events.joined(separator: ", "))], \(outcome)")
                }
                replayed += 1
            }
        }
        print("replayed \(replayed) inputs")
        return replayed
    }
#endif
