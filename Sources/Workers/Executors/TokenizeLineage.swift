// The lineage a tokenize task reports with its shard (issue 20, docs/lineage.md): its input files with checksum
// and size, which input line each shard document came from (as runs of consecutive lines), and every document it
// read but dropped, with the document it was dropped for. The control plane stores it with the shard.

import APITypes
import Checksum
import DataShards
import Foundation

final class TokenizeLineage {
    private(set) var facts = ShardLineageFacts()
    private var written: Int64 = 0
    /// This chunk's first occurrence of each normalized text (dedup only): the keeper of later exact duplicates.
    private var firstSeen: [DocumentHash: (input: Int, line: Int)] = [:]
    /// Dropped exact duplicates whose keeper is in an earlier chunk: (index into `facts.dropped`, hash).
    private var earlierKeepers: [(Int, DocumentHash)] = []

    init() {}

    /// The task's inputs in order, once they were read: checksums from the resolved inputs, else of the local file.
    func recordInputs(_ spec: TokenizeTaskSpec, localPaths: [String: String]) throws {
        for (number, file) in spec.files.enumerated() {
            let source = spec.sources.flatMap { number < $0.count ? $0[number] : nil }
            let path = localPaths[file] ?? file
            let bytes: Int64
            let sha256: String
            do {
                bytes = try source?.bytes ?? Self.size(path)
                sha256 = try source?.sha256 ?? SHA256.hex(ofFileAt: path)
            } catch {
                throw TaskFailure("lineage: cannot checksum the input \(file): \(error)")
            }
            facts.inputs.append(
                .init(name: source?.name ?? file, location: source?.location ?? file, sha256: sha256, bytes: bytes))
        }
    }

    private static func size(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// A document written to the shard (the next one): extends the last run when it is the next line of its input.
    func kept(input: Int, line: Int, hash: DocumentHash?) {
        defer { written += 1 }
        if let hash, firstSeen[hash] == nil { firstSeen[hash] = (input, line) }
        if var last = facts.documentRuns.last, last.input == input,
            last.firstLine + Int(last.documents) == line, last.firstDocument + last.documents == written
        {
            last.documents += 1
            facts.documentRuns[facts.documentRuns.count - 1] = last
            return
        }
        guard facts.documentRuns.count < ShardLineageFacts.maxDocumentRuns else {
            facts.truncated = true
            return
        }
        facts.documentRuns.append(.init(firstDocument: written, documents: 1, input: input, firstLine: line))
    }

    /// An exact duplicate: of an earlier chunk's document (`inEarlierChunk`) or of one read before in this chunk.
    func droppedExactDuplicate(input: Int, line: Int, hash: DocumentHash, inEarlierChunk: Bool) {
        let keeper = inEarlierChunk ? nil : firstSeen[hash]
        guard
            append(
                .init(
                    input: input, line: line, reason: .exactDuplicate, keeperInput: keeper?.input,
                    keeperLine: keeper?.line))
        else { return }
        if inEarlierChunk { earlierKeepers.append((facts.dropped.count - 1, hash)) }
    }

    func dropped(input: Int, line: Int, reason: ShardLineageFacts.DropReason, keeperShard: Int?) {
        _ = append(.init(input: input, line: line, reason: reason, keeperShard: keeperShard))
    }

    private func append(_ dropped: ShardLineageFacts.Dropped) -> Bool {
        guard facts.dropped.count < ShardLineageFacts.maxDroppedDocuments else {
            facts.truncated = true
            return false
        }
        facts.dropped.append(dropped)
        return true
    }

    /// Names the chunk of each earlier keeper: the first earlier hash file holding its text (read one at a time,
    /// and only when some duplicate has its keeper there).
    func resolveEarlierKeepers(_ spec: TokenizeTaskSpec) throws {
        var pending = earlierKeepers
        for chunk in 0..<spec.shardIndex where !pending.isEmpty {
            var hashes = Set<DocumentHash>()
            try TokenizeDedup.read(
                TokenizeDedup.hashFile(directory: spec.datasetDirectory, shardIndex: chunk), into: &hashes)
            pending.removeAll { entry in
                guard hashes.contains(entry.1) else { return false }
                facts.dropped[entry.0].keeperShard = chunk
                return true
            }
        }
    }
}
