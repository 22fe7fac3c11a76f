// A libFuzzer target for the frame codec, and the replay tool that turns its corpus into a regression check.
//
// Built by scripts/fuzz.sh with `-sanitize=fuzzer -parse-as-library -D FUZZING`, libFuzzer supplies `main`
// and calls `fuzz` with generated inputs. Built normally (`swift run FrameParserFuzz Fuzz/corpus`), the
// top-level code below replays every file in the given directories through the same function.
//
// Input format: byte 0 chooses where the rest is split in two, so the parser sees frames cut at every
// possible point (RFC 6455 allows any TCP segmentation); bytes 1... are what a client sends a server.
import AgoraWebSocket
import NIOCore

#if !FUZZING
    import Foundation
#endif

/// libFuzzer's entry point: parses one input and crashes only if the codec breaks one of its own invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
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
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        var argc = argc
        var argv = argv
        return runFuzzerDriver(&argc, &argv, fuzz)
    }
#endif

/// Runs one input through the parser and assembler, checking everything that must hold for any input.
func checkInvariants(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let stream = Array(input.dropFirst())
    // Scaled rather than taken modulo the length, so a cut can land anywhere in a long input.
    let split = stream.count * Int(selector) / Int(UInt8.max)

    let whole = FuzzRun(stream[...], split: stream.count)
    let chopped = FuzzRun(stream[...], split: split)
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
        let reparsed = try? parser.next(&encoded)
        precondition(reparsed == frame && encoded.readableBytes == 0, "frame did not survive an encode/parse round trip")
    }

    // The incremental validator must agree with the standard library on arbitrary bytes.
    var validator = UTF8Validator()
    let valid = stream.withUnsafeBytes { validator.feed($0) } && validator.isComplete
    precondition(valid == (String(validating: stream, as: UTF8.self) != nil), "UTF8Validator disagrees with the standard library")
}

/// The frames and events one input produced, and the close code it ended with, if any.
struct FuzzRun {
    /// The frame limit: larger lengths are reachable only through a header, which is the point of that check.
    static let maxFrameSize = 1 << 16
    /// The message limit: small enough that fragments within -max_len=4096 can exceed it.
    static let maxMessageSize = 1 << 11

    var frames: [WebSocketFrame] = []
    var events: [MessageAssembler.Event] = []
    var failure: UInt16?

    /// Feeds `stream[..<split]`, drains the parser, then feeds the rest and drains it again.
    init(_ stream: ArraySlice<UInt8>, split: Int) {
        var parser = FrameParser(maxFrameSize: Self.maxFrameSize, requireMasked: true)
        var assembler = MessageAssembler(maxMessageSize: Self.maxMessageSize)
        var buffer = ByteBuffer(bytes: stream.prefix(split))
        do {
            try self.drain(&buffer, parser: &parser, assembler: &assembler)
            buffer.writeBytes(stream.dropFirst(split))
            try self.drain(&buffer, parser: &parser, assembler: &assembler)
        } catch {
            self.failure = error.closeCode
        }
    }

    private mutating func drain(
        _ buffer: inout ByteBuffer,
        parser: inout FrameParser,
        assembler: inout MessageAssembler
    ) throws(WebSocketError) {
        while let frame = try parser.next(&buffer) {
            self.frames.append(frame)
            if let event = try assembler.receive(frame) {
                self.events.append(event)
            }
        }
    }
}

#if !FUZZING
    // A declaration, not a statement: the compiler rejects top-level statements under -parse-as-library even
    // inside an inactive #if, but in an ordinary build main.swift runs this initializer eagerly, in order.
    let replayedInputs = replayCorpus(directories: Array(CommandLine.arguments.dropFirst()))

    /// Replays every file in `directories` through `checkInvariants`, printing how many there were.
    func replayCorpus(directories: [String]) -> Int {
        guard !directories.isEmpty else {
            print("usage: FrameParserFuzz <corpus directory>...")
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
                [UInt8](data).withUnsafeBufferPointer { checkInvariants($0) }
                replayed += 1
            }
        }
        print("replayed \(replayed) inputs")
        return replayed
    }
#endif
