// `WireJSONReader` reads the worker protocol's hot messages to exactly what `JSONDecoder` reads, or refuses them
// (then `WireCoding.decode` falls back to `JSONDecoder`); `ReportBatch.wireJSON()` writes what `JSONEncoder` writes.
// `JSONDecoder` is the oracle throughout: on samples that set every member, on texts the reader must refuse, and on
// thousands of mutated texts, where any value the reader returns must be the decoder's value for the same text.
import ClusterModel
import Foundation
import Primitives
import XCTest

@testable import APITypes

final class WireJSONReaderTests: XCTestCase {
    private let time = WireSamples.time

    private let everyKind = WireSamples.everyKind

    /// Every list non-empty and every optional set, so a member the reader or writer forgets shows as a difference.
    private func sampleBatch() -> ReportBatch {
        let task = TaskID(11)
        let attempt = AttemptID(77)
        let artifact = ArtifactRecord(
            name: "checkpoint-step-2", location: "cp://blobs/ab", sha256: "ab", bytes: 1 << 40, kind: "checkpoint",
            metadata: everyKind)
        return ReportBatch(
            workerID: WorkerID(3),
            progress: [
                ProgressReport(
                    taskID: task, attemptID: attempt, fraction: 0.25, message: "step \"2\"", step: 2, totalSteps: 8)
            ],
            logs: [
                LogLineReport(
                    taskID: task, attemptID: attempt, sequence: 1, time: time, stream: .stderr, message: "é\n"),
                LogLineReport(taskID: task, attemptID: attempt, sequence: 2, time: time, stream: .system, message: ""),
            ],
            metrics: [
                MetricReport(taskID: task, attemptID: attempt, name: "loss", step: 2, value: 4.5, time: time),
                MetricReport(taskID: task, attemptID: attempt, name: "tokens", step: 2, value: 30, time: time),
            ],
            artifacts: [ArtifactReport(taskID: task, attemptID: attempt, artifact: artifact)],
            completions: [
                CompletionReport(taskID: task, attemptID: attempt, result: everyKind, artifacts: [artifact]),
                CompletionReport(taskID: TaskID(12), attemptID: AttemptID(78)),
            ],
            failures: [
                FailureReport(
                    taskID: TaskID(13), attemptID: AttemptID(79), message: "bad spec", retryable: false,
                    reason: .preempted, details: ["badShards": [1, 2]])
            ],
            next: PollRequest(
                workerID: WorkerID(3), maxTasks: 64, waitSeconds: 30,
                available: Resources(cpuMillis: 8000, memoryBytes: 1 << 34, accelerators: ["gpu-h100": 8])))
    }

    private func sampleAnswer() -> ReportBatchResponse {
        ReportBatchResponse(
            accepted: 3, duplicates: 1, staleAttempts: [AttemptID(4)], assignments: WireSamples.assignments())
    }

    private func decoded<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        try? WireCoding.decoder().decode(type, from: data)
    }

    private func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    func testTheSamplesSetEveryOptionalAndEveryList() throws {
        let batch = sampleBatch()
        XCTAssertEqual(WireSamples.optionalsUnset(batch), [])
        XCTAssertFalse(batch.progress.isEmpty || batch.logs.isEmpty || batch.metrics.isEmpty)
        XCTAssertFalse(batch.artifacts.isEmpty || batch.completions.isEmpty || batch.failures.isEmpty)
        for item: Any in [batch.progress[0], batch.artifacts[0].artifact, batch.failures[0]] {
            XCTAssertEqual(WireSamples.optionalsUnset(item), [], "\(item)")
        }
        let answer = sampleAnswer()
        XCTAssertEqual(WireSamples.optionalsUnset(answer), [])
        let assignment = try XCTUnwrap(answer.assignments?[0])
        XCTAssertEqual(WireSamples.optionalsUnset(assignment), [])
        XCTAssertEqual(WireSamples.optionalsUnset(try XCTUnwrap(assignment.gang?.peers[0])), [])
    }

    func testReadsWhatTheEncoderWritesToTheDecodersValue() throws {
        let batch = sampleBatch()
        let answer = sampleAnswer()
        let poll = PollResponse(assignments: answer.assignments ?? [])
        for pretty in [false, true] {
            let encoder = WireCoding.encoder(pretty: pretty)
            let batchText = try encoder.encode(batch)
            XCTAssertEqual(ReportBatch(wireJSON: batchText), batch, text(batchText))
            XCTAssertEqual(ReportBatch(wireJSON: batchText), decoded(ReportBatch.self, batchText))
            let answerText = try encoder.encode(answer)
            XCTAssertEqual(ReportBatchResponse(wireJSON: answerText), answer, text(answerText))
            let pollText = try encoder.encode(poll)
            XCTAssertEqual(PollResponse(wireJSON: pollText), poll, text(pollText))
        }
        // What the worker sends most: one completion and a claim, no other list.
        let small = ReportBatch(
            workerID: WorkerID(1), completions: [CompletionReport(taskID: TaskID(2), attemptID: AttemptID(3))],
            next: PollRequest(workerID: WorkerID(1), maxTasks: 1, waitSeconds: 0, available: Resources()))
        XCTAssertEqual(ReportBatch(wireJSON: try WireCoding.encoder().encode(small)), small)
        let empty = ReportBatchResponse(accepted: 0)
        XCTAssertEqual(ReportBatchResponse(wireJSON: try WireCoding.encoder().encode(empty)), empty)
    }

    func testAnyJSONIsReadAndWrittenAsTheCodersDo() throws {
        for value: AnyJSON in [everyKind, nil, 7, "text", [1.5, [:]]] {
            let encoded = try WireCoding.encoder().encode(value)
            XCTAssertEqual(AnyJSON(wireJSON: encoded), value, text(encoded))
            let fast = try XCTUnwrap(value.wireJSON())
            XCTAssertEqual(decoded(AnyJSON.self, fast), value, text(fast))
            XCTAssertEqual(AnyJSON(wireJSON: fast), value)
        }
        XCTAssertNil(AnyJSON.double(2).wireJSON(), "a whole double is left to the encoder")
        XCTAssertNil(AnyJSON(wireJSON: Data("2.0".utf8)), "the decoder decides what a whole double reads as")
    }

    func testTheBatchWriterWritesWhatTheEncoderWritesAndTheReaderReadsIt() throws {
        let small = ReportBatch(
            workerID: WorkerID(1), completions: [CompletionReport(taskID: TaskID(2), attemptID: AttemptID(3))])
        for batch in [sampleBatch(), small, ReportBatch(workerID: WorkerID(9))] {
            let fast = try XCTUnwrap(batch.wireJSON())
            let encoded = try WireCoding.encoder().encode(batch)
            let fastMembers = try XCTUnwrap(try JSONSerialization.jsonObject(with: fast) as? NSDictionary)
            let encodedMembers = try XCTUnwrap(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary)
            XCTAssertEqual(fastMembers, encodedMembers, text(fast))
            XCTAssertEqual(decoded(ReportBatch.self, fast), batch)
            XCTAssertEqual(ReportBatch(wireJSON: fast), batch, "the reader takes what the writer writes")
            XCTAssertEqual(try WireCoding.encode(batch), fast, "WireCoding.encode uses the writer")
        }
        XCTAssertEqual(text(try XCTUnwrap(small.wireJSON())).contains("progress"), false, "empty lists left out")
        var refused = sampleBatch()
        refused.metrics[0].value = .infinity
        XCTAssertNil(refused.wireJSON(), "the encoder rejects a non-finite double, so the writer refuses it")
        XCTAssertThrowsError(try WireCoding.encode(refused))
        refused = sampleBatch()
        refused.completions[0].result = ["x": 2.0]
        XCTAssertNil(refused.wireJSON(), "a whole-number double in AnyJSON refuses the whole batch")
        XCTAssertEqual(
            decoded(ReportBatch.self, try WireCoding.encode(refused)),
            decoded(
                ReportBatch.self, try WireCoding.encoder().encode(refused)))
    }

    func testAcceptsTheDecodersOtherSpellingsOfTheSameValue() throws {
        let texts = [
            // Null optionals and null lists, spaces everywhere, members in another order.
            #" { "next" : null , "progress" : null , "workerID" : 3 , "completions" : [ { "artifacts" : [ ] , "#
                + #""result" : null , "attemptID" : 3 , "taskID" : 2 } ] } "#,
            // Escapes: \/, \u00e9, a surrogate pair, \b \f.
            #"{"workerID":1,"failures":[{"taskID":1,"attemptID":2,"message":"a\/b \u00e9 \ud83d\ude80 \b\f","#
                + #""retryable":true,"reason":"error","details":null}]}"#,
            // A double member written as an integer, an exponent, a negative zero.
            #"{"workerID":1,"progress":[{"taskID":1,"attemptID":2,"fraction":1,"step":null}],"#
                + #""metrics":[{"taskID":1,"attemptID":2,"name":"m","step":0,"value":-1.5E-3,"time":"#
                + #""2026-01-02T03:04:05Z"}],"next":{"workerID":1,"maxTasks":1,"waitSeconds":-0.0,"#
                + #""available":{"cpuMillis":0,"memoryBytes":0,"accelerators":{}}}}"#,
        ]
        for text in texts {
            let data = Data(text.utf8)
            let expected = try WireCoding.decoder().decode(ReportBatch.self, from: data)
            XCTAssertEqual(ReportBatch(wireJSON: data), expected, text)
        }
        let failure = try XCTUnwrap(ReportBatch(wireJSON: Data(texts[1].utf8))?.failures.first)
        XCTAssertEqual(failure.message, "a/b é 🚀 \u{08}\u{0C}")
    }

    /// Each text is read by `JSONDecoder` (to a value or an error) and refused by the reader, so
    /// `WireCoding.decode` answers exactly as before.
    func testRefusesWhatItCannotReadExactlyAndWireCodingFallsBack() throws {
        let valid = #"{"workerID":1,"completions":[{"taskID":2,"attemptID":3,"result":RESULT,"artifacts":[]}]}"#
        let refusedResults = [
            "3.0", "1e2", "-0.0", "1e400", "1e-400", "99999999999999999999", #"{"a":1,"a":2}"#, "nul", "[1,]",
            #""\ud800""#, #""\x""#, "\"tab\there\"",
        ]
        for result in refusedResults {
            let data = Data(valid.replacingOccurrences(of: "RESULT", with: result).utf8)
            XCTAssertNil(ReportBatch(wireJSON: data), result)
            let oracle = Result { try WireCoding.decoder().decode(ReportBatch.self, from: data) }
            let answer = Result { try WireCoding.decode(ReportBatch.self, from: data) }
            switch (oracle, answer) {
            case (.success(let a), .success(let b)): XCTAssertEqual(a, b, result)
            case (.failure(let a), .failure(let b)):
                XCTAssertEqual(WireCoding.describe(a), WireCoding.describe(b), result)
            default: XCTFail("\(result): the decoder gave \(oracle), WireCoding.decode \(answer)")
            }
        }
        let refusedBatches = [
            #"{"workerID":1,"unknown":2}"#, #"{"workerID":1,"workerID":2}"#, #"{"workerID":1.0}"#,
            #"{"progress":[]}"#, #"{"work\u0065rID":1}"#, #"{"workerID":1} x"#, #"{"workerID":1"#,
            #"{"workerID":1,"logs":[{"taskID":1,"attemptID":2,"sequence":1,"time":1790000000,"#
                + #""stream":"stdout","message":""}]}"#,
            #"{"workerID":1,"logs":[{"taskID":1,"attemptID":2,"sequence":1,"time":"2026-01-02T03:04:05Z","#
                + #""stream":"both","message":""}]}"#,
            "\u{FEFF}{\"workerID\":1}", "[]", "",
        ]
        for text in refusedBatches {
            XCTAssertNil(ReportBatch(wireJSON: Data(text.utf8)), text)
        }
        XCTAssertEqual(
            try WireCoding.decode(ReportBatch.self, from: Data(refusedBatches[0].utf8)),
            ReportBatch(workerID: WorkerID(1)),
            "an unknown member: the decoder ignores it")
    }

    /// Thousands of small edits to the samples' text: whatever the reader returns, `JSONDecoder` returns too.
    func testEveryValueTheReaderReturnsFromAMutatedTextIsTheDecoders() throws {
        var random = SplitMix64(seed: 0x15)
        var accepted = 0
        var refused = 0
        let alphabet = Array(#"{}[],:"\ 0123456789.-+eEtrufalsn\/u"#.utf8)
        func mutate(_ bytes: [UInt8]) -> [UInt8] {
            var bytes = bytes
            for _ in 0..<(1 + Int(random.next() % 2)) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                default: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                }
            }
            return bytes
        }
        func check<T: WireJSONReadable & Equatable>(_ type: T.Type, _ sample: Data, rounds: Int) {
            for _ in 0..<rounds {
                let data = Data(mutate(Array(sample)))
                guard let value = T(wireJSON: data) else {
                    refused += 1
                    continue
                }
                accepted += 1
                XCTAssertEqual(value, decoded(T.self, data), text(data))
            }
        }
        // `WIRE_FUZZ_ROUNDS=200000` runs a longer search (400,000 texts, 26 s in release).
        let rounds = ProcessInfo.processInfo.environment["WIRE_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 3000
        check(ReportBatch.self, try WireCoding.encoder().encode(sampleBatch()), rounds: rounds)
        check(ReportBatchResponse.self, try WireCoding.encoder().encode(sampleAnswer()), rounds: rounds)
        print("mutated texts: \(accepted) read, \(refused) refused")
        // Both outcomes occur, so the comparison above was exercised.
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 100)
    }
}
