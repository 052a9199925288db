// What a tokenize task drops besides exact duplicates (docs/dedup.md): near-duplicates — documents the `-lsh`
// job's pairs join to a lower id, the cluster's keeper (every task joins all pairs the same way, so they agree) —
// and documents sharing an n-gram of `ngramWords` words with an eval file. Near-duplicates are written with their
// keeper to the chunk's lineage file `<dataset>/.neardup/removed-shard-<i>.tsv`; counts go into the task result
// (`input.nearDuplicatesDropped`, `input.decontamination` per eval file).

import APITypes
import DataShards
import Foundation
import NearDedup

final class TokenizeDocumentFilter {
    private let chunk: Int
    private var clusters: DuplicateClusters?
    private var contamination: ContaminationIndex?
    private var scratch = NGramScratch()
    private var ordinal = 0
    private(set) var nearDuplicates = 0
    private var contaminatedPerSet: [Int]
    private var lineage = "document\tkeeper\tfile\tline\n"
    /// Why the last document `drops` dropped was dropped, and the chunk of its keeper (near-duplicates).
    private(set) var lastDrop: (reason: ShardLineageFacts.DropReason, keeperChunk: Int?)?

    init(_ spec: TokenizeTaskSpec, context: ExecutionContext?) throws {
        chunk = spec.shardIndex
        contaminatedPerSet = []
        if let near = spec.nearDedup {
            var clusters = DuplicateClusters()
            for reducer in 0..<near.reducers {
                let path = LSHReduceTaskSpec.pairFile(spec.datasetDirectory, reducer: reducer)
                do {
                    let reader = try RecordFileReader(path: path)
                    while let (keeper, duplicate) = try reader.next() { clusters.union(keeper, duplicate) }
                } catch {
                    throw TaskFailure(
                        "near-duplicates: cannot read \(path) (the -lsh job's task \(reducer) writes it): \(error); re-run the job",
                        retryable: false)
                }
            }
            self.clusters = clusters
        }
        if let decontamination = spec.decontamination {
            var index = ContaminationIndex(ngramWords: decontamination.ngramWords)
            let options = TokenizeTaskSupport.readerOptions(spec.input)
            for file in decontamination.evalFiles {
                let set = index.addEvalSet((file as NSString).lastPathComponent)
                let reader = try TokenizeTaskSupport.openReader(
                    file, input: spec.input, options: options, context: context)
                while true {
                    let document: InputDocument?
                    do { document = try reader.next() } catch { throw TokenizeTaskSupport.failure(error) }
                    guard let document else { break }
                    index.add(evalText: document.text, set: set, scratch: &scratch)
                }
            }
            contaminatedPerSet = Array(repeating: 0, count: index.evalSetNames.count)
            contamination = index
        }
    }

    var isActive: Bool { clusters != nil || contamination != nil }

    /// Whether to drop `document`, the next one read (every document read must pass here, dropped or not, so that
    /// ordinals match the -minhash pass). `alreadyDropped`: an exact duplicate, only counted.
    func drops(_ document: InputDocument, alreadyDropped: Bool) -> Bool {
        let id = DocumentID(chunk: chunk, ordinal: ordinal)
        ordinal += 1
        lastDrop = nil
        if alreadyDropped { return true }
        if let keeper = clusters?.keeper(of: id.rawValue) {
            nearDuplicates += 1
            lastDrop = (.nearDuplicate, DocumentID(rawValue: keeper).chunk)
            lineage += "\(id)\t\(DocumentID(rawValue: keeper))\t\(document.file)\t\(document.line)\n"
            return true
        }
        if let contamination {
            let mask = contamination.contamination(of: document.text, scratch: &scratch)
            if mask != 0 {
                lastDrop = (.contaminated, nil)
                for set in contaminatedPerSet.indices where mask & (1 << UInt64(set)) != 0 {
                    contaminatedPerSet[set] += 1
                }
                return true
            }
        }
        return false
    }

    /// The counts for the task result's `input` block.
    func add(to stats: inout [String: AnyJSON]) {
        if clusters != nil { stats["nearDuplicatesDropped"] = .int(Int64(nearDuplicates)) }
        if let contamination {
            var perSet: [String: AnyJSON] = [:]
            for (set, name) in contamination.evalSetNames.enumerated() {
                perSet[name] = .int(Int64(contaminatedPerSet[set]))
            }
            stats["decontamination"] = .object(perSet)
        }
    }

    /// Writes the lineage of this chunk's near-duplicates (atomically; the same bytes on a retry).
    func writeLineage(datasetDirectory: String) throws {
        guard clusters != nil else { return }
        let path = LSHReduceTaskSpec.lineageFile(datasetDirectory, chunk: chunk)
        do { try TokenizeDatasetIndex.writeAtomically(Data(lineage.utf8), to: path) } catch {
            throw TaskFailure("near-duplicates: cannot write the lineage \(path): \(error)")
        }
    }
}
