// llmops.data (the Python SDK's reader, through libLLMOpsStreamC) against the Swift stream: for three blends
// x rank counts 1, 2, 3, the Python process must give every rank exactly the Swift stream's batches (ids and
// global positions) and states, and resuming mid-epoch from its saved state (through JSON) must give the same
// continuation. A bad argument must be a Python exception naming it.
import Foundation
import TestSupport
import XCTest

@testable import DataShards

final class PythonStreamParityTests: XCTestCase {
    /// One blend as both sides configure it.
    struct Blend {
        var name: String
        var sources: [(directory: String, weight: Double)]
        var sequenceLength: Int
        var batchSize: Int
        var seed: UInt64
        var shuffleWindow: Int
        var samplesPerEpoch: Int64?
        /// Steps read per rank, and the step after which the state is saved and a new stream resumes.
        var steps: Int
        var resumeAfter: Int

        var pythonArguments: [String: Any] {
            var out: [String: Any] = [
                "sources": sources.map { [$0.directory, $0.weight] as [Any] }, "sequence_length": sequenceLength,
                "batch_size": batchSize, "seed": seed, "shuffle_window": shuffleWindow,
            ]
            if let samplesPerEpoch { out["samples_per_epoch"] = samplesPerEpoch }
            return out
        }

        func configuration(rank: Int, worldSize: Int) throws -> StreamConfiguration {
            StreamConfiguration(
                sources: try sources.map { try StreamSource.directory($0.directory, weight: $0.weight) },
                sequenceLength: sequenceLength, batchSize: batchSize, seed: seed, rank: rank, worldSize: worldSize,
                shuffleWindow: shuffleWindow, samplesPerEpoch: samplesPerEpoch)
        }
    }

    /// What the Python side wrote for one (blend, world size, rank).
    struct PythonRun: Decodable {
        var blend: String
        var world: Int
        var rank: Int
        var tokenBytes: Int
        var positions: [Int64]
        var resumedPositions: [Int64]
        var savedState: StreamState
        var finalState: StreamState
        var tokensFile: String
        var resumedFile: String
    }

    static let driver = #"""
        import json, sys
        from llmops.data import Stream, StreamState
        plan = json.load(open(sys.argv[1]))
        runs = []
        for blend in plan["blends"]:
            args = dict(blend["arguments"]); args["sources"] = [tuple(s) for s in args["sources"]]
            for world in (1, 2, 3):
                for rank in range(world):
                    base = f'{plan["out"]}/{blend["name"]}-{world}-{rank}'
                    positions, resumed_positions = [], []
                    with Stream(rank=rank, world_size=world, **args) as stream, open(base + ".bin", "wb") as out:
                        batches = iter(stream)
                        for step in range(blend["steps"]):   # iteration and next_batch, mixed: one sequence
                            batch = next(batches) if step % 3 else stream.next_batch()
                            out.write(batch.tokens.cast("B")); positions += batch.positions
                            if step + 1 == blend["resumeAfter"]:
                                saved = json.dumps(batch.state_after.to_dict())   # as a checkpoint stores it
                        final = stream.state.to_dict(); token_bytes = stream.info.token_bytes
                    state = StreamState.from_dict(json.loads(saved))
                    with Stream(rank=rank, world_size=world, state=state, **args) as stream, open(base + "-resumed.bin", "wb") as out:
                        for _ in range(blend["steps"] - blend["resumeAfter"]):
                            batch = stream.next_batch()
                            out.write(batch.tokens.cast("B")); resumed_positions += batch.positions
                    runs.append({"blend": blend["name"], "world": world, "rank": rank, "tokenBytes": token_bytes,
                                 "positions": positions, "resumedPositions": resumed_positions,
                                 "savedState": json.loads(saved), "finalState": final,
                                 "tokensFile": base + ".bin", "resumedFile": base + "-resumed.bin"})
        print(json.dumps(runs))
        """#

    func testThreeBlendsTimesOneTwoThreeRanksAndAResumePointEqualTheSwiftStream() throws {
        let root = TemporaryDirectory("python-parity")
        let blends = try makeBlends(root)
        let out = root.sub("out")
        let plan: [String: Any] = [
            "out": out,
            "blends": blends.map {
                ["name": $0.name, "arguments": $0.pythonArguments, "steps": $0.steps, "resumeAfter": $0.resumeAfter]
            },
        ]
        let planPath = root.path + "/plan.json"
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: planPath))
        let result = try PythonSDK.run(Self.driver, arguments: [planPath])
        XCTAssertEqual(result.status, 0, "the Python driver failed:\n\(result.error)")
        guard result.status == 0 else { return }
        let runs = try JSONDecoder().decode([PythonRun].self, from: Data(result.output.utf8))
        XCTAssertEqual(runs.count, blends.count * 6, "one run per blend and rank of 1, 2, 3 ranks")
        for run in runs {
            let blend = try XCTUnwrap(blends.first { $0.name == run.blend })
            try assertEqualsSwift(run, blend)
        }
    }

    private func assertEqualsSwift(_ run: PythonRun, _ blend: Blend) throws {
        let label = "\(run.blend) rank \(run.rank) of \(run.world)"
        let stream = try TokenStream(try blend.configuration(rank: run.rank, worldSize: run.world))
        var tokens: [UInt8] = []
        var positions: [Int64] = []
        var saved = StreamState()
        for step in 0..<blend.steps {
            let batch = try stream.nextBatch()
            tokens += bytes(of: batch.tokens, width: run.tokenBytes)
            positions += batch.samples.map(\.globalPosition)
            if step + 1 == blend.resumeAfter { saved = batch.stateAfter }
        }
        let python = try Data(contentsOf: URL(fileURLWithPath: run.tokensFile))
        XCTAssertEqual(python.count, tokens.count, "\(label): bytes read")
        XCTAssertTrue(python.elementsEqual(tokens), "\(label): the Python batches differ from the Swift stream's")
        XCTAssertEqual(run.positions, positions, "\(label): global positions")
        XCTAssertEqual(run.savedState, saved, "\(label): the state saved after step \(blend.resumeAfter)")
        XCTAssertEqual(run.finalState, stream.state, "\(label): the state after the last step")
        // The continuation: the uninterrupted Swift stream's steps after the resume point.
        let cut = blend.resumeAfter * blend.batchSize
        let rowBytes = (blend.sequenceLength + 1) * run.tokenBytes
        let resumed = try Data(contentsOf: URL(fileURLWithPath: run.resumedFile))
        XCTAssertTrue(
            resumed.elementsEqual(tokens[(cut * rowBytes)...]),
            "\(label): resuming from the saved state did not continue the stream")
        XCTAssertEqual(run.resumedPositions, Array(positions[cut...]), "\(label): resumed positions")
    }

    /// Little-endian bytes of the Int32 ids as the Python side stores them (uint16 or int32).
    private func bytes(of ids: [Int32], width: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * width)
        for id in ids {
            let value = UInt32(bitPattern: id)
            for byte in 0..<width { out.append(UInt8(truncatingIfNeeded: value >> (8 * byte))) }
        }
        return out
    }

    /// A: one int32 dataset (vocabulary > 65,500), no window shuffle beyond the default, several dataset epochs.
    /// B: two uint16 datasets 0.7 / 0.3 with small shuffle windows. C: three 0.5 / 0.3 / 0.2 with a short stream
    /// epoch (samplesPerEpoch), so the resume point and the reads cross stream epochs.
    private func makeBlends(_ root: TemporaryDirectory) throws -> [Blend] {
        let wide = try makeDataset(
            in: root.sub("wide"), name: "wide", shards: 3, documentsPerShard: 8...16, documentLength: 5...90,
            vocabularySize: 70_000, seed: 1, tokenizerHash: "tok-wide")
        let web = try makeDataset(
            in: root.sub("web"), name: "web", shards: 3, documentsPerShard: 10...20, documentLength: 5...120, seed: 2)
        let code = try makeDataset(
            in: root.sub("code"), name: "code", shards: 2, documentsPerShard: 10...20, documentLength: 20...200,
            seed: 3)
        let books = try makeDataset(
            in: root.sub("books"), name: "books", shards: 2, documentsPerShard: 5...10, documentLength: 50...300,
            seed: 4)
        return [
            Blend(
                name: "A", sources: [(wide.directory, 1)], sequenceLength: 24, batchSize: 4, seed: 11,
                shuffleWindow: 4096, samplesPerEpoch: nil, steps: 40, resumeAfter: 13),
            Blend(
                name: "B", sources: [(web.directory, 0.7), (code.directory, 0.3)], sequenceLength: 32, batchSize: 3,
                seed: 7, shuffleWindow: 16, samplesPerEpoch: nil, steps: 45, resumeAfter: 17),
            Blend(
                name: "C", sources: [(web.directory, 0.5), (code.directory, 0.3), (books.directory, 0.2)],
                sequenceLength: 16, batchSize: 2, seed: 5, shuffleWindow: 8, samplesPerEpoch: 50, steps: 60,
                resumeAfter: 21),
        ]
    }

    // MARK: PyTorch

    static let torchDriver = #"""
        import json, sys
        import torch
        from torch.utils.data import DataLoader
        from llmops.data import Stream, StreamError
        from llmops.data.torch import StreamDataset
        args = dict(sequence_length=16, batch_size=4, seed=3, shuffle_window=8, rank=1, world_size=2)
        with Stream([sys.argv[1]], **args) as stream:
            expected = [torch.tensor(stream.next_batch().rows(), dtype=torch.long) for _ in range(12)]
        dataset = StreamDataset([sys.argv[1]], steps=5, **args)
        got = [x for x in DataLoader(dataset, batch_size=None)]          # steps 0-4
        saved = json.loads(json.dumps(dataset.state_dict()))              # through a checkpoint
        resumed = StreamDataset([sys.argv[1]], steps=7, state=saved, **args)
        got += list(resumed)                                              # steps 5-11
        same = len(got) == 12 and all(g.dtype == torch.long and torch.equal(g, e) for g, e in zip(got, expected))
        try:
            next(iter(DataLoader(StreamDataset([sys.argv[1]], **args), batch_size=None, num_workers=1)))
            refused = False
        except Exception as error:
            refused = "num_workers=0" in str(error)
        print(json.dumps({"same": same, "refused": refused, "shape": list(got[0].shape)}))
        """#

    func testTheTorchDatasetYieldsTheStreamsBatchesAndResumesFromItsStateDict() throws {
        let probe = try PythonSDK.run("import torch")
        guard probe.status == 0 else {
            throw XCTSkip("torch is not importable by python3; scripts/install-test-deps.sh installs the CPU wheel")
        }
        let root = TemporaryDirectory("python-torch")
        let web = try makeDataset(
            in: root.sub("web"), name: "web", shards: 2, documentsPerShard: 10...20, documentLength: 5...120)
        let result = try PythonSDK.run(Self.torchDriver, arguments: [web.directory])
        XCTAssertEqual(result.status, 0, "the torch driver failed:\n\(result.error)")
        guard result.status == 0 else { return }
        let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertEqual(out["same"] as? Bool, true, "StreamDataset (and its resume) yields the Stream's batches")
        XCTAssertEqual(out["shape"] as? [Int], [4, 17])
        XCTAssertEqual(out["refused"] as? Bool, true, "DataLoader worker processes are refused with a message")
    }

    // MARK: bad arguments

    static let badArguments = #"""
        import json, sys
        from llmops.data import Stream, StreamState, StreamSpecError
        good = sys.argv[1]
        cases = {
            "zero sequence length": lambda: Stream([good], sequence_length=0, batch_size=2, seed=1),
            "text batch size": lambda: Stream([good], sequence_length=8, batch_size="two", seed=1),
            "negative weight": lambda: Stream([(good, -1.0)], sequence_length=8, batch_size=2, seed=1),
            "missing dataset": lambda: Stream([good, "/nonexistent/llmops"], sequence_length=8, batch_size=2, seed=1),
            "rank out of range": lambda: Stream([good], sequence_length=8, batch_size=2, seed=1, rank=3, world_size=3),
            "negative seed": lambda: Stream([good], sequence_length=8, batch_size=2, seed=-1),
            "another order": lambda: Stream([good], sequence_length=8, batch_size=2, seed=1,
                                            state=StreamState(0, 1, "0123456789abcdef")),
            "huge batch": lambda: Stream([good], sequence_length=8, batch_size=10**9, seed=1),
        }
        out = {}
        for name, open_stream in cases.items():
            try:
                open_stream().close(); out[name] = None
            except StreamSpecError as error:
                out[name] = {"field": error.field, "message": str(error)}
        print(json.dumps(out))
        """#

    func testABadArgumentIsAPythonExceptionNamingIt() throws {
        let root = TemporaryDirectory("python-bad")
        let web = try makeDataset(
            in: root.sub("web"), name: "web", shards: 1, documentsPerShard: 10...10, documentLength: 10...50)
        let result = try PythonSDK.run(Self.badArguments, arguments: [web.directory])
        XCTAssertEqual(result.status, 0, "the Python script failed:\n\(result.error)")
        guard result.status == 0 else { return }
        let outcome = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let expected: [String: String] = [
            "zero sequence length": "sequence_length", "text batch size": "batch_size",
            "negative weight": "sources[0].weight", "missing dataset": "sources[1].location",
            "rank out of range": "rank", "negative seed": "seed", "another order": "state.order",
            "huge batch": "batch_size",
        ]
        for (name, field) in expected {
            let error = try XCTUnwrap(outcome[name] as? [String: String], "\(name): opened without an error")
            XCTAssertEqual(error["field"], field, "\(name): \(error["message"] ?? "")")
            XCTAssertTrue(error["message"]?.hasPrefix(field + ": ") == true, "\(name): \(error["message"] ?? "")")
        }
    }
}
