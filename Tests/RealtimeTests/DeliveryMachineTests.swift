import AgoraCore
import Foundation
import Testing

@testable import Realtime

/// The delivery state machine as a plain value: events in, actions out, frames as strings.
struct DeliveryMachineTests {
    typealias Machine = DeliveryMachine<String>

    static let settings = Machine.Settings(maxHeld: 4, pageSize: 3, maxBeforeHello: 2)

    /// Runs one event, returning its actions.
    private func step(_ machine: inout Machine, _ event: (inout Machine, inout [Machine.Action]) -> Void) -> [Machine.Action] {
        var actions: [Machine.Action] = []
        event(&machine, &actions)
        return actions
    }

    /// A machine that said hello at `head` and went live there (the client sent no resume), with nothing to fetch.
    private func live(at head: Int64) -> Machine {
        var machine = Machine(settings: Self.settings, resume: nil)
        _ = step(&machine) { $0.headRead(head, into: &$1) }
        #expect(step(&machine) { $0.resumeWaitElapsed(head: head, into: &$1) } == [.fetch(after: head, limit: 3)])
        #expect(step(&machine) { $0.fetched([], full: false, into: &$1) } == [.writeBacklog])
        #expect(machine.nextBacklogFrame() == nil)
        #expect(step(&machine) { $0.backlogStalled(into: &$1) } == [])
        #expect(machine.fetching == false)
        return machine
    }

    @Test func helloComesFirstThenWhatWaitedForIt() {
        var machine = Machine(settings: Self.settings, resume: nil)
        #expect(step(&machine) { $0.ephemeralArrived("typing", flush: true, into: &$1) } == [])
        _ = step(&machine) { $0.ephemeralArrived("presence", flush: true, into: &$1) }
        _ = step(&machine) { $0.ephemeralArrived("dropped", flush: true, into: &$1) }  // past maxBeforeHello
        #expect(step(&machine) { $0.headRead(7, into: &$1) } == [.writeHello(head: 7), .write("typing"), .write("presence"), .flush, .awaitResume(head: 7)])
        #expect(step(&machine) { $0.ephemeralArrived("after", flush: false, into: &$1) } == [.write("after")])
        #expect(step(&machine) { $0.ephemeralArrived("after2", flush: true, into: &$1) } == [.write("after2"), .flush])
    }

    /// Retention pruned the stream through 10: a client resuming from 2 is told `reset` (2, 10] before the events the
    /// stream still keeps, never a silent gap; a client within the window is not.
    @Test func aResumeFromBeforeTheRetentionWindowIsToldResetThenGoesOn() {
        var machine = Machine(settings: Self.settings, resume: 2)
        #expect(step(&machine) { $0.headRead(12, into: &$1) } == [.writeHello(head: 12), .flush, .fetch(after: 2, limit: 3)])
        #expect(step(&machine) { $0.fetched([(11, "e11"), (12, "e12")], full: false, prunedThrough: 10, into: &$1) }
            == [.reset(from: 2, through: 10), .writeBacklog])
        #expect(machine.lastSeq == 10)
        #expect(machine.nextBacklogFrame() == "e11" && machine.nextBacklogFrame() == "e12" && machine.nextBacklogFrame() == nil)
        #expect(step(&machine) { $0.backlogStalled(into: &$1) } == [.acknowledgeResume(id: nil, seq: 12)])
        // Everything after the position pruned and nothing newer kept: reset, then live from the watermark.
        var empty = Machine(settings: Self.settings, resume: 1)
        _ = step(&empty) { $0.headRead(7, into: &$1) }
        #expect(step(&empty) { $0.fetched([], full: false, prunedThrough: 7, into: &$1) } == [.reset(from: 1, through: 7), .writeBacklog])
        #expect(step(&empty) { $0.backlogStalled(into: &$1) } == [.acknowledgeResume(id: nil, seq: 7)])
        #expect(step(&empty) { $0.durableArrived(seq: 8, frame: "e8", into: &$1) } == [.write("e8"), .flush])
        // Within the window: no reset.
        var within = Machine(settings: Self.settings, resume: 10)
        _ = step(&within) { $0.headRead(12, into: &$1) }
        #expect(step(&within) { $0.fetched([(11, "e11"), (12, "e12")], full: false, prunedThrough: 10, into: &$1) } == [.writeBacklog])
    }

    @Test func aResumeGivenInTheUpgradeStartsThereAfterHello() {
        var machine = Machine(settings: Self.settings, resume: 2)
        #expect(step(&machine) { $0.headRead(5, into: &$1) } == [.writeHello(head: 5), .flush, .fetch(after: 2, limit: 3)])
        #expect(step(&machine) { $0.fetched([(3, "e3"), (4, "e4"), (5, "e5")], full: true, into: &$1) } == [.writeBacklog])
        #expect(machine.nextBacklogFrame() == "e3")
        #expect(machine.nextBacklogFrame() == "e4")
        #expect(machine.lastSeq == 4)
        // The socket stopped being writable: the rest waits until what was written has left.
        #expect(step(&machine) { $0.backlogWritten(into: &$1) } == [.writeBacklog])
        #expect(machine.nextBacklogFrame() == "e5")
        #expect(machine.nextBacklogFrame() == nil)
        // A full page: there may be more.
        #expect(step(&machine) { $0.backlogWritten(into: &$1) } == [.fetch(after: 5, limit: 3)])
        #expect(step(&machine) { $0.fetched([], full: false, into: &$1) } == [.writeBacklog])
        // Caught up: the resume of the upgrade's query is acknowledged (it had no id).
        #expect(step(&machine) { $0.backlogStalled(into: &$1) } == [.acknowledgeResume(id: nil, seq: 5)])
        #expect(machine.lastSeq == 5 && !machine.fetching)
    }

    @Test func aResumeBeforeTheHeadIsKnownWaitsForHelloAndIsAcknowledgedOnceCaughtUp() {
        var machine = Machine(settings: Self.settings, resume: nil)
        #expect(step(&machine) { $0.resume(from: 1, id: ClientRequestID(.string("r")), into: &$1) } == [])
        #expect(step(&machine) { $0.headRead(2, into: &$1) } == [.writeHello(head: 2), .flush, .fetch(after: 1, limit: 3)])
        _ = step(&machine) { $0.fetched([(2, "e2")], full: false, into: &$1) }
        #expect(machine.nextBacklogFrame() == "e2")
        #expect(step(&machine) { $0.backlogWritten(into: &$1) } == [.acknowledgeResume(id: ClientRequestID(.string("r")), seq: 2)])
    }

    @Test func aResumeAheadOfTheStreamIsRefusedAndGoesOnFromTheHead() {
        var machine = Machine(settings: Self.settings, resume: nil)
        _ = step(&machine) { $0.headRead(3, into: &$1) }
        let id = ClientRequestID(.integer(9))
        #expect(step(&machine) { $0.resume(from: 99, id: id, into: &$1) } == [.resumeAhead(id: id, asked: 99, known: 3), .fetch(after: 3, limit: 3)])
        #expect(step(&machine) { $0.resume(from: -1, id: nil, into: &$1) }.first == .resumeAhead(id: nil, asked: -1, known: 3))
    }

    @Test func aClientThatSpeaksWithoutResumingStartsAtTheHeadOfHello() {
        var machine = Machine(settings: Self.settings, resume: nil)
        #expect(step(&machine) { $0.clientSpoke(into: &$1) } == [])  // no hello yet: nothing to start from
        _ = step(&machine) { $0.headRead(4, into: &$1) }
        #expect(step(&machine) { $0.clientSpoke(into: &$1) } == [.fetch(after: 4, limit: 3)])
        #expect(step(&machine) { $0.resumeWaitElapsed(head: 4, into: &$1) } == [])  // already started
    }

    @Test func liveEventsInOrderAreWrittenAtOnceAndOldOnesDropped() {
        var machine = live(at: 10)
        #expect(step(&machine) { $0.durableArrived(seq: 11, frame: "e11", into: &$1) } == [.write("e11"), .flush])
        #expect(step(&machine) { $0.durableArrived(seq: 11, frame: "e11", into: &$1) } == [])
        #expect(step(&machine) { $0.durableArrived(seq: 9, frame: "e9", into: &$1) } == [])
        #expect(machine.lastSeq == 11)
    }

    @Test func aGapHoldsLaterEventsAndReadsWhatIsMissing() {
        var machine = live(at: 10)
        #expect(step(&machine) { $0.durableArrived(seq: 13, frame: "e13", into: &$1) } == [.fetch(after: 10, limit: 3)])
        // While the read runs, live events are held, in order or not.
        #expect(step(&machine) { $0.durableArrived(seq: 12, frame: "e12", into: &$1) } == [])
        #expect(machine.held.keys.sorted() == [12, 13])
        // The read finds 11 (and 12, which is then not written twice).
        #expect(step(&machine) { $0.fetched([(11, "s11"), (12, "s12")], full: false, into: &$1) } == [.writeBacklog])
        #expect(machine.nextBacklogFrame() == "s11")
        #expect(machine.nextBacklogFrame() == "s12")
        #expect(step(&machine) { $0.backlogWritten(into: &$1) } == [.write("e13"), .flush])
        #expect(machine.lastSeq == 13 && machine.held.isEmpty && !machine.fetching)
    }

    @Test func eventsGoneFromStorageAreSkippedRatherThanWaitedForForever() {
        var machine = live(at: 10)
        _ = step(&machine) { $0.durableArrived(seq: 15, frame: "e15", into: &$1) }
        // Nothing stored between 10 and 15 (retention took it): go on from the held event.
        #expect(step(&machine) { $0.fetched([], full: false, into: &$1) } == [.writeBacklog])
        #expect(step(&machine) { $0.backlogStalled(into: &$1) } == [.write("e15"), .flush])
        #expect(machine.lastSeq == 15)
    }

    @Test func tooManyHeldEventsAreLetGoAndReadFromStorageInstead() {
        var machine = live(at: 0)
        _ = step(&machine) { $0.durableArrived(seq: 2, frame: "e2", into: &$1) }  // fetching from 0
        for seq in Int64(3)...5 { _ = step(&machine) { $0.durableArrived(seq: seq, frame: "e\(seq)", into: &$1) } }
        #expect(machine.held.count == 4)
        _ = step(&machine) { $0.durableArrived(seq: 6, frame: "e6", into: &$1) }
        #expect(machine.held.isEmpty)
        // The running read returns a page; the machine reads again for the rest, from storage.
        _ = step(&machine) { $0.fetched([(1, "s1"), (2, "s2"), (3, "s3")], full: true, into: &$1) }
        while machine.nextBacklogFrame() != nil {}
        #expect(step(&machine) { $0.backlogWritten(into: &$1) } == [.fetch(after: 3, limit: 3)])
    }

    @Test func aFailedReadIsRetriedLater() {
        var machine = live(at: 0)
        #expect(step(&machine) { $0.resync(into: &$1) } == [.fetch(after: 0, limit: 3)])
        #expect(step(&machine) { $0.fetchFailed(into: &$1) } == [.retryFetchLater])
        #expect(step(&machine) { $0.retryFetch(into: &$1) } == [.fetch(after: 0, limit: 3)])
    }

    @Test func aResyncReadsOnlyWhenTheStreamIsAhead() {
        var machine = live(at: 5)
        #expect(step(&machine) { $0.resync(ifBehind: 5, into: &$1) } == [])
        #expect(step(&machine) { $0.resync(ifBehind: 7, into: &$1) } == [.fetch(after: 5, limit: 3)])
        // Not twice while a read runs.
        #expect(step(&machine) { $0.resync(ifBehind: 8, into: &$1) } == [])
    }

    @Test func aResumeFromEarlierReplaysFromThere() {
        var machine = live(at: 5)
        let id = ClientRequestID(.string("again"))
        #expect(step(&machine) { $0.resume(from: 2, id: id, into: &$1) } == [.fetch(after: 2, limit: 3)])
        _ = step(&machine) { $0.fetched([(3, "s3"), (4, "s4"), (5, "s5")], full: false, into: &$1) }
        while machine.nextBacklogFrame() != nil {}
        #expect(step(&machine) { $0.backlogWritten(into: &$1) } == [.acknowledgeResume(id: id, seq: 5)])
    }

    @Test func aClosedMachineDoesNothingMore() {
        var machine = live(at: 1)
        _ = step(&machine) { $0.durableArrived(seq: 3, frame: "e3", into: &$1) }
        machine.close()
        #expect(machine.held.isEmpty)
        #expect(step(&machine) { $0.durableArrived(seq: 2, frame: "e2", into: &$1) } == [])
        #expect(step(&machine) { $0.ephemeralArrived("x", flush: true, into: &$1) } == [])
        #expect(step(&machine) { $0.fetched([(2, "s2")], full: false, into: &$1) } == [])
        #expect(machine.nextBacklogFrame() == nil)
        #expect(step(&machine) { $0.resync(into: &$1) } == [])
    }
}

/// The socket's JSON: one envelope, typed command payloads, exact whole numbers.
struct RealtimeJSONTests {
    private func object(_ text: String) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
    }

    @Test func theEnvelopeIsLaidOutInOnePlace() throws {
        let user = UUID(uuidString: "5F0C8A4E-0B0A-4D5C-9E53-2B8F1D7C0A11")!
        // The envelope's own keys come in protocol order (clients may look at the prefix); inside `data`, the
        // encoder's order.
        let hello = ServerMessage.hello(userId: user, seq: 4).text
        #expect(hello.hasPrefix(#"{"type":"hello","data":{"#))
        #expect(try object(hello) == object(#"{"type":"hello","data":{"userId":"5F0C8A4E-0B0A-4D5C-9E53-2B8F1D7C0A11","seq":4}}"#))
        #expect(ServerMessage.ack(id: nil, data: .emptyObject).text == #"{"type":"ack","id":null,"data":{}}"#)
        #expect(ServerMessage.ack(id: ClientRequestID(.integer(9_007_199_254_740_993)), data: .emptyObject).text
            == #"{"type":"ack","id":9007199254740993,"data":{}}"#)
        #expect(try object(ServerMessage.error(id: ClientRequestID(.string("a\"b")), code: "x", message: "line\nbreak").text)
            == object(#"{"type":"error","id":"a\"b","data":{"code":"x","message":"line\nbreak"}}"#))
        let revoked = ServerMessage.error(id: nil, code: "topic_revoked", message: "gone", topic: "product:1").text
        #expect(revoked.hasPrefix(#"{"type":"error","id":null,"data":{"#))
        #expect(try object(revoked) == object(#"{"type":"error","id":null,"data":{"code":"topic_revoked","message":"gone","topic":"product:1"}}"#))
        #expect(ServerMessage.event(type: "chat:read", seq: 3, data: JSONText(json: #"{"a":1}"#)).text == #"{"type":"chat:read","seq":3,"data":{"a":1}}"#)
        #expect(ServerMessage.topic(type: "product:updated", topic: "product:1", data: .emptyObject).text
            == #"{"type":"product:updated","topic":"product:1","data":{}}"#)
        for message in [ServerMessage.hello(userId: user, seq: 1), .ephemeral(type: "presence", data: try JSONText(encoding: ["online": true]))] {
            #expect(try JSONSerialization.jsonObject(with: Data(message.text.utf8)) is [String: Any])
        }
    }

    @Test func wholeNumbersStayExact() throws {
        let big = try JSONDecoder().decode(JSON.self, from: Data("9007199254740993".utf8))
        #expect(big == .integer(9_007_199_254_740_993))
        #expect(big.int64 == 9_007_199_254_740_993)
        #expect(try JSONDecoder().decode(JSON.self, from: Data("1.5".utf8)) == .number(1.5))
        #expect(try JSONDecoder().decode(JSON.self, from: Data("1.5".utf8)).int64 == nil)
        let id = try JSONDecoder().decode(ClientRequestID.self, from: Data(#"{"deep":[1,"x",null]}"#.utf8))
        #expect(String(decoding: try JSONEncoder().encode(id), as: UTF8.self) == #"{"deep":[1,"x",null]}"#)
    }

    struct Payload: Decodable, Equatable {
        var conversationId: UUID
        var messageId: Int64?
        var text: String?

        init(conversationId: UUID, messageId: Int64?, text: String?) {
            (self.conversationId, self.messageId, self.text) = (conversationId, messageId, text)
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            conversationId = try container.decode(UUID.self, forKey: .conversationId)
            messageId = try container.decodeWholeNumberIfPresent(forKey: .messageId)
            text = try container.decodeIfPresent(String.self, forKey: .text)
        }

        enum CodingKeys: String, CodingKey { case conversationId, messageId, text }
    }

    @Test func commandDataDecodesTypedPayloadsAndNamesTheBadField() throws {
        let id = UUID()
        let good = try CommandData(json: #"{"conversationId":"\#(id.uuidString)","messageId":9007199254740993}"#).decode(Payload.self)
        #expect(good == Payload(conversationId: id, messageId: 9_007_199_254_740_993, text: nil))
        #expect(throws: Never.self) { try CommandData(message: Data(#"{"type":"ping"}"#.utf8)).decode([String: String].self) }
        let cases: [(String, String, String)] = [
            (#"{}"#, "conversationId", "is required"),
            (#"{"conversationId":"not-an-id"}"#, "conversationId", "is not valid"),
            (#"{"conversationId":"\#(id.uuidString)","messageId":1.5}"#, "messageId", "must be a whole number"),
            (#"{"conversationId":"\#(id.uuidString)","messageId":"7"}"#, "messageId", "must be a whole number"),
            (#"{"conversationId":"\#(id.uuidString)","text":7}"#, "text", "must be text"),
            (#""text""#, "data", "has the wrong type"),
        ]
        for (data, field, problem) in cases {
            do {
                _ = try CommandData(json: data).decode(Payload.self)
                Issue.record("\(data) was accepted")
            } catch {
                #expect(error.code == "validation_failed")
                #expect(error.fields == [field: problem], "\(data)")
            }
        }
    }
}
