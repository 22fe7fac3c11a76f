// A libFuzzer target for the HTTP edge, and the replay tool that turns its corpus into a regression check.
//
// Built by scripts/fuzz.sh with `-sanitize=fuzzer -parse-as-library -D FUZZING`, libFuzzer supplies `main` and
// calls `fuzz` with generated inputs. Built normally (`swift run HTTPEdgeFuzz Fuzz/corpus-http`), the top-level
// code below replays every file in the given directories through the same function.
//
// Input format: byte 0 chooses where the rest is split in two, so NIO's decoder sees the request cut at every
// possible point (TCP may segment anywhere); bytes 1... are what a client sends a server. What the decoder makes of
// them goes through Agora's edge as a route would see it (EdgeCheck.swift).

#if !FUZZING
    import Foundation
#endif

/// libFuzzer's entry point: runs one input and crashes only if the edge breaks one of its own invariants.
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

    /// The program's entry point under libFuzzer (see Fuzz/FrameParserFuzz/main.swift for why we supply it).
    @_cdecl("HTTPEdgeFuzz_main")
    package func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        var argc = argc
        var argv = argv
        return runFuzzerDriver(&argc, &argv, fuzz)
    }
#endif

/// Runs one input through NIO's HTTP/1 decoder and Agora's edge, checking everything that must hold for any input.
func checkInvariants(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let stream = Array(input.dropFirst())
    // Scaled rather than taken modulo the length, so a cut can land anywhere in a long input.
    let split = stream.count * Int(selector) / Int(UInt8.max)

    let whole = DecodedRequests(stream[...], split: stream.count)
    let chopped = DecodedRequests(stream[...], split: split)
    // Where the bytes are cut must not change what they mean (before a protocol error, at least: how many parts
    // precede an error is the decoder's business).
    if whole.failure == nil || chopped.failure == nil {
        precondition(whole == chopped, "decoded requests depend on where the input was split")
    }

    for request in whole.requests {
        EdgeCheck.uri(request.target)
        EdgeCheck.body(request.body)
    }
    // The bytes after the first head, as they are: mutations that break Content-Length (most of them) still reach
    // the JSON edge, which is where the inputs are richest.
    if let end = stream.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
        EdgeCheck.body(Array(stream[end...]))
    }
}

#if !FUZZING
    // A declaration, not a statement: the compiler rejects top-level statements under -parse-as-library even
    // inside an inactive #if, but in an ordinary build main.swift runs this initializer eagerly, in order.
    let replayedInputs = replayCorpus(directories: Array(CommandLine.arguments.dropFirst()))

    /// Replays every file in `directories` through `checkInvariants`, printing how many there were.
    func replayCorpus(directories: [String]) -> Int {
        guard !directories.isEmpty else {
            print("usage: HTTPEdgeFuzz <corpus directory>...")
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
