// The dataset index: JSON round trip, atomic replacement, field-named errors, idempotent recording.
import Foundation
import XCTest

@testable import DataShards

final class ShardDatasetIndexTests: XCTestCase {
    func testRoundTripAndTotals() throws {
        let dir = TemporaryDirectory()
        var ds = try makeDataset(in: dir.path, name: "web", shards: 3, documentsPerShard: 2...9, documentLength: 1...20)
        var index = ds.index
        index.provenance = DatasetProvenance(
            inputs: [.init(dataset: "a", location: "/x", weight: 0.7, tokenizerHash: "t")],
            seed: 42, sampleTokens: 129, createdBy: "test")
        try index.write(toDirectory: dir.path)
        let loaded = try DatasetIndex.load(fromDirectory: dir.path)
        XCTAssertEqual(loaded, index)
        XCTAssertEqual(loaded.totalDocuments, Int64(ds.documents.joined().count))
        XCTAssertEqual(loaded.totalTokens, Int64(ds.documents.joined().reduce(0) { $0 + $1.count + 1 }))
        XCTAssertEqual(filesIn(dir.path).filter { $0.hasPrefix(".") }, [], "no temporary left")
        ds = SyntheticDataset(directory: ds.directory, index: loaded, documents: ds.documents)
        XCTAssertEqual(loaded.shards.map(\.name), ["web-00000", "web-00001", "web-00002"])
    }

    func testMalformedIndexNamesTheField() throws {
        let dir = TemporaryDirectory()
        _ = try makeDataset(in: dir.path, name: "m", shards: 1, documentsPerShard: 1...1, documentLength: 1...1)
        let path = dir.path + "/index.json"
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        var shards = json["shards"] as! [[String: Any]]
        shards[0].removeValue(forKey: "binSHA256")
        json["shards"] = shards
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DatasetIndex.load(fromDirectory: dir.path)) { error in
            guard case .malformed(let file, let reason)? = error as? DatasetIndexError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(file, path)
            XCTAssertTrue(reason.contains("shards[0].binSHA256"), reason)
        }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DatasetIndex.load(fromDirectory: dir.path))
        XCTAssertThrowsError(try DatasetIndex.load(fromDirectory: dir.path + "/nope")) { error in
            guard case .unreadable? = error as? DatasetIndexError else { return XCTFail("\(error)") }
        }
    }

    func testConcurrentRecordingUnderTheDirectoryLockKeepsEveryShardOnce() throws {
        let dir = TemporaryDirectory()
        let path = dir.path
        let template = DatasetIndex(name: "c", tokenizerHash: "t", vocabularySize: 1000, endOfTextID: 999)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                let writer = try ShardWriter(directory: path, name: "c-\(i % 4)", dtype: .uint16, endOfTextID: 999)
                try writer.appendDocument([UInt32(i % 4)])
                let info = try writer.finish()
                try DatasetIndex.update(directory: path, creatingFrom: template) {
                    (index: inout DatasetIndex) throws(DatasetIndexError) in
                    try index.record(info)
                }
            } catch { XCTFail("\(error)") }
        }
        let index = try DatasetIndex.load(fromDirectory: path)
        XCTAssertEqual(index.shards.map(\.name), ["c-0", "c-1", "c-2", "c-3"])
        XCTAssertTrue(ShardVerifier.verifyDataset(index, inDirectory: path).isEmpty)
        var wrong = index.shards[0]
        wrong.dtype = .int32
        var copy = index
        XCTAssertThrowsError(try copy.record(wrong))
    }
}
