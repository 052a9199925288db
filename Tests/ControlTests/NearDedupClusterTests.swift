import APITypes
import DataShards
import Foundation
import NearDedup
import Postgres
import TestSupport
import XCTest

/// Near-duplicate removal and decontamination end to end on a real local cluster (`opsctl serve` and two
/// `opsctl worker` processes on a throwaway PostgreSQL): 12 JSONL files in 4 chunks, where about one document in
/// seven is a copy of an earlier one with 1 % of its words edited (in another chunk or the same), some originals
/// carry a 13-word run of an eval document, and two eval files are given. Three reducers with a 16 KiB limit each
/// must spill. The dataset must hold exactly the originals that are not contaminated, tokenized as the library
/// does; the lineage must name each copy's original; the counts per eval file must be the planted ones.
final class NearDedupClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "neardedup-cluster-" }

    private struct Planted {
        var texts: [String] = [] // every document, in dataset order
        var ids: [DocumentID] = []
        var keeperOfCopy: [DocumentID: DocumentID] = [:]
        var contaminated: [DocumentID: String] = [:] // → eval file name
    }

    private func writeInputs() throws -> Planted {
        var state: UInt64 = 2024
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let vocabulary = (0..<3000).map { _ in String((0..<(3 + next(6))).map { _ in letters[next(26)] }) }
        func words(_ n: Int) -> [String] { (0..<n).map { _ in vocabulary[next(vocabulary.count)] } }
        func line(_ text: String) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": text]), as: UTF8.self) + "\n"
        }
        try FileManager.default.createDirectory(atPath: root.path + "/evals", withIntermediateDirectories: true)
        var evals: [String: [[String]]] = [:]
        for name in ["gsm8k.jsonl", "mmlu.jsonl"] {
            evals[name] = (0..<10).map { _ in words(40) }
            try evals[name]!.map { try line($0.joined(separator: " ")) }.joined()
                .write(toFile: root.path + "/evals/" + name, atomically: true, encoding: .utf8)
        }
        var planted = Planted()
        var originals: [(id: DocumentID, words: [String])] = []
        try FileManager.default.createDirectory(atPath: root.path + "/inputs", withIntermediateDirectories: true)
        for file in 0..<12 {
            var contents = ""
            for d in 0..<40 {
                let chunk = file / 3
                let id = DocumentID(chunk: chunk, ordinal: (file % 3) * 40 + d)
                var text: [String]
                if originals.count > 10 && next(7) == 0 {
                    let original = originals[next(originals.count)]
                    text = original.words
                    for _ in 0..<max(1, text.count / 100) { text[next(text.count)] = "edited" + String(next(1000)) }
                    planted.keeperOfCopy[id] = original.id
                } else {
                    text = words(200 + next(200))
                    if next(9) == 0 {
                        let name = next(2) == 0 ? "gsm8k.jsonl" : "mmlu.jsonl"
                        let eval = evals[name]![next(10)]
                        let start = next(27)
                        text.insert(contentsOf: eval[start..<(start + 13)].map { $0.capitalized + "," }, at: next(100))
                        planted.contaminated[id] = name
                    } else {
                        originals.append((id, text))
                    }
                }
                planted.texts.append(text.joined(separator: " "))
                planted.ids.append(id)
                contents += try line(text.joined(separator: " "))
            }
            try contents.write(
                toFile: root.path + "/inputs/file" + String(format: "%02d", file) + ".jsonl", atomically: true,
                encoding: .utf8)
        }
        return planted
    }

    func testDatasetBuiltWithNearDedupExcludesPlantedCopiesAndContaminatedDocuments() throws {
        let planted = try writeInputs()
        XCTAssertGreaterThan(planted.keeperOfCopy.count, 30)
        XCTAssertGreaterThan(Set(planted.contaminated.values).count, 1)
        XCTAssertTrue(planted.keeperOfCopy.contains { $0.key.chunk != $0.value.chunk }, "copies across chunks")
        let conninfo = try TestPostgres.shared().freshDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        self.pool = pool
        let port = try FreePort.next()
        let admin = "admin-\(UUID().uuidString)"
        let common = [
            "OPS_STATE_DIR": root.path + "/state", "OPS_ADMIN_TOKEN": admin,
            "OPS_JOIN_TOKEN": "join-\(UUID().uuidString)", "OPS_SERVER": "http://127.0.0.1:\(port)", "OPS_TOKEN": admin,
        ]
        try processes.start(
            "serve", ["serve", "--database-url", conninfo, "--port", "\(port)", "--lease-seconds", "5"],
            environment: common)
        try waitForControlPlane(environment: common)
        for name in ["w1", "w2"] { try startWorker(name, environment: common) }
        let location = root.path + "/out"
        let manifest = root.path + "/tokenize.yaml"
        try """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: tok-near}
        spec:
          type: tokenize
          resources: {cpu: 1, memory: 256Mi}
          tokenize:
            inputs: ["\(root.path)/inputs/*.jsonl"]
            output: {dataset: near, location: \(location)}
            tokenizer: {train: {vocabularySize: 400, sampleBytes: 100KB}}
            filesPerTask: 3
            nearDedup: {shingleWords: 5, bands: 14, rowsPerBand: 8, reducers: 3, memoryLimitBytes: 16KiB}
            decontaminate: {evals: ["\(root.path)/evals/*.jsonl"], ngramWords: 13}
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let applied = try processes.run(["apply", "-f", manifest], environment: common)
        XCTAssertEqual(applied.status, 0, applied.output)
        try waitUntil("the tokenize job finishes", timeoutSeconds: 300, intervalSeconds: 0.2) {
            let state = try? pool.withConnection {
                try $0.queryOne("SELECT state FROM jobs WHERE name = 'tok-near'").string("state")
            }
            return ["succeeded", "failed", "cancelled"].contains(state ?? "")
        }
        let states = try pool.withConnection { c in
            try c.query("SELECT name, state FROM jobs ORDER BY name").map {
                "\(try $0.string("name"))=\(try $0.string("state"))"
            }
        }
        XCTAssertEqual(
            Set(states),
            [
                "tok-near-lsh=succeeded", "tok-near-minhash=succeeded", "tok-near-tokenizer=succeeded",
                "tok-near=succeeded",
            ])

        func results(_ job: String) throws -> [[String: Any]] {
            try pool.withConnection { c in
                try c.query(
                    "SELECT t.result::text AS r FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = $1 ORDER BY t.id",
                    [.text(job)]
                ).map {
                    try JSONSerialization.jsonObject(with: Data(try $0.string("r").utf8)) as? [String: Any] ?? [:]
                }
            }
        }
        // The reducers: every bucket record of the corpus went through one of them, each within its limit, spilling.
        let reducers = try results("tok-near-lsh")
        XCTAssertEqual(reducers.count, 3)
        XCTAssertEqual(reducers.map { $0["records"] as? Int ?? 0 }.reduce(0, +), planted.texts.count * 14)
        for reducer in reducers {
            XCTAssertLessThanOrEqual(reducer["peakAccountedBytes"] as? Int ?? .max, 16 << 10, "\(reducer)")
            XCTAssertGreaterThan(reducer["spilledRuns"] as? Int ?? 0, 1, "\(reducer)")
        }
        // The tokenize tasks' counts.
        let inputs = try results("tok-near").map { $0["input"] as? [String: Any] ?? [:] }
        XCTAssertEqual(
            inputs.map { $0["nearDuplicatesDropped"] as? Int ?? -1 }.reduce(0, +), planted.keeperOfCopy.count)
        var perEval: [String: Int] = [:]
        for input in inputs {
            for (name, count) in input["decontamination"] as? [String: Any] ?? [:] {
                perEval[name, default: 0] += count as? Int ?? -1000
            }
        }
        var expectedPerEval: [String: Int] = ["gsm8k.jsonl": 0, "mmlu.jsonl": 0]
        for name in planted.contaminated.values { expectedPerEval[name, default: 0] += 1 }
        XCTAssertEqual(perEval, expectedPerEval)

        // The lineage: each dropped copy with its original.
        var lineage: [DocumentID: DocumentID] = [:]
        for chunk in 0..<4 {
            let text = try String(
                contentsOfFile: LSHReduceTaskSpec.lineageFile(location + "/near", chunk: chunk), encoding: .utf8)
            for row in text.split(separator: "\n").dropFirst() {
                let fields = row.split(separator: "\t").map(String.init)
                func id(_ s: String) -> DocumentID {
                    let parts = s.split(separator: ":").compactMap { Int($0) }
                    return DocumentID(chunk: parts[0], ordinal: parts[1])
                }
                lineage[id(fields[0])] = id(fields[1])
            }
        }
        XCTAssertEqual(lineage, planted.keeperOfCopy)
        // The same decisions in PostgreSQL's lineage (docs/lineage.md), in reading order: each copy with its keeper's
        // chunk, each contaminated document with none.
        let recorded = try pool.withConnection { c in
            try c.query(
                """
                SELECT x.reason, x.keeper_shard FROM dataset_dropped_documents x JOIN datasets d ON d.id = x.dataset_id
                WHERE d.name = 'near' ORDER BY x.shard_index, x.ordinal
                """
            ).map { (try $0.string("reason"), try $0.optionalInt("keeper_shard")) }
        }
        XCTAssertEqual(
            recorded.filter { $0.0 == "near-duplicate" }.map(\.1),
            planted.keeperOfCopy.keys.sorted().map { planted.keeperOfCopy[$0]!.chunk })
        XCTAssertEqual(recorded.filter { $0.0 == "contaminated" }.count, planted.contaminated.count)
        XCTAssertTrue(recorded.filter { $0.0 == "contaminated" }.allSatisfy { $0.1 == nil })

        // The shards hold exactly the kept documents, in order, tokenized as the library does.
        let tokenizer = try Tokenizer.load(path: location + "/near/tokenizer.json")
        let eot = tokenizer.id(of: "<|endoftext|>")!
        let encoder = tokenizer.makeEncoder()
        var expected: [[UInt32]] = []
        for (id, text) in zip(planted.ids, planted.texts)
        where planted.keeperOfCopy[id] == nil && planted.contaminated[id] == nil {
            expected.append(encoder.encode(text, matchAddedTokens: false) + [eot])
        }
        let index = try DatasetIndex.load(fromDirectory: location + "/near")
        var stored: [[UInt32]] = []
        for shard in index.shards.sorted(by: { $0.name < $1.name }) {
            let reader = try ShardReader(prefix: location + "/near/" + shard.name)
            for d in 0..<reader.documentCount { stored.append(try reader.tokens(ofDocument: d)) }
        }
        XCTAssertEqual(stored.count, expected.count)
        XCTAssertTrue(stored == expected, "the dataset's documents differ from the kept documents")
        finished = true
    }
}
