// MinHash LSH near-duplicate detection against datatrove, on the same corpus with the same parameters
// (scripts/bench-dedup.sh runs all of it and prints the table; docs/dedup.md).
//
//   DedupBench generate <corpus.jsonl> [documents] [seed]  a synthetic corpus with planted near-duplicates
//   DedupBench run <corpus.jsonl> <clusters.tsv> [memoryLimitBytes] [threads]
//                                                          our search; prints throughput and the reducer's figures
//   DedupBench quality <corpus.jsonl> <clusters.tsv> [threshold]
//                                                          precision/recall of the pairs a clusters file implies,
//                                                          against exact Jaccard of every pair sharing a shingle
//
// A clusters file has one line `document<TAB>cluster` per document in a cluster of two or more (document = line
// number in the corpus, from 0), what datatrove's MinhashDedupCluster writes with save_cluster_id.

import DataShards
import Foundation
import NearDedup
import Primitives

let arguments = CommandLine.arguments
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}
guard arguments.count >= 2 else { fail("usage: DedupBench generate|run|quality ...") }

let shingleWords = 5
let parameters = MinHashParameters(shingleWords: shingleWords, permutations: 112, bands: 14, rowsPerBand: 8, seed: 1)

/// The documents of a JSONL corpus, read with the same reader the tokenize job uses.
func readCorpus(_ path: String) -> [String] {
    do {
        let reader = try DocumentReader(path: path)
        var texts: [String] = []
        while let document = try reader.next() { texts.append(document.text) }
        return texts
    } catch { fail("cannot read \(path): \(error)") }
}

func jsonLine(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: ["text": text])
    return String(decoding: data, as: UTF8.self)
}

switch arguments[1] {
case "generate":
    guard arguments.count >= 3 else { fail("usage: DedupBench generate <corpus.jsonl> [documents] [seed]") }
    let documents = arguments.count > 3 ? Int(arguments[3]) ?? 20_000 : 20_000
    var random = SplitMix64(seed: arguments.count > 4 ? UInt64(arguments[4]) ?? 1 : 1)
    // A Zipf-like vocabulary (word rank r drawn with probability ~ 1/r over 20,000 words), so that common words
    // repeat as in prose and unrelated documents share some shingles.
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    let vocabulary = (0..<20_000).map { _ in
        String((0..<(2 + random.next(below: 8))).map { _ in letters[random.next(below: letters.count)] })
    }
    func word() -> String {
        let u = random.nextUniform()
        return vocabulary[min(vocabulary.count - 1, Int(exp(u * log(Double(vocabulary.count)))) - 1)]
    }
    // Every tenth document is an edited copy of one of the previous 1,000 (edit rates 0 … 30 % of its words replaced,
    // inserted or deleted), so the copies are spread over the corpus and sit at known distances.
    let rates = [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]
    var texts: [[String]] = []
    var out = ""
    for i in 0..<documents {
        var words: [String]
        if i % 10 == 9 && i > 10 {
            words = texts[max(0, i - 1000) + random.next(below: min(i, 1000))]
            let rate = rates[random.next(below: rates.count)]
            for _ in 0..<Int((Double(words.count) * rate).rounded()) {
                let p = random.next(below: words.count)
                switch random.next(below: 3) {
                case 0: words[p] = word()
                case 1: words.insert(word(), at: p)
                default: if words.count > 1 { words.remove(at: p) }
                }
            }
        } else {
            words = (0..<(50 + random.next(below: 500))).map { _ in word() }
        }
        texts.append(words)
        out += jsonLine(words.joined(separator: " ")) + "\n"
    }
    guard FileManager.default.createFile(atPath: arguments[2], contents: Data(out.utf8)) else {
        fail("cannot write \(arguments[2])")
    }
    print("wrote \(documents) documents (\(out.utf8.count) bytes) to \(arguments[2])")

case "run":
    guard arguments.count >= 4 else {
        fail("usage: DedupBench run <corpus.jsonl> <clusters.tsv> [memoryLimitBytes] [threads]")
    }
    let memoryLimitBytes = arguments.count > 4 ? Int(arguments[4]) ?? (64 << 20) : (64 << 20)
    let threads = arguments.count > 5 ? Int(arguments[5]) ?? 1 : 1
    let spill = NSTemporaryDirectory() + "dedupbench-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: spill) }
    let start = Date()
    let search = try NearDuplicateSearch(
        parameters: parameters, reducers: 1, memoryLimitBytes: memoryLimitBytes, spillDirectory: spill,
        threads: threads)
    // Streamed in batches of 4,096 documents: the corpus is never held whole.
    let reader = try DocumentReader(path: arguments[2])
    var batch: [String] = []
    var ids: [UInt64] = []
    var next: UInt64 = 0
    var bytes = 0
    while let document = try reader.next() {
        batch.append(document.text)
        bytes += document.text.utf8.count
        ids.append(next)
        next += 1
        if batch.count == 4096 {
            try search.add(batch, ids: ids)
            batch.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
        }
    }
    try search.add(batch, ids: ids)
    let result = try search.finish()
    var clusters = result.clusters
    var lines = ""
    var members: [UInt64: UInt64] = [:]
    for (document, keeper) in clusters.dropped() {
        members[document] = keeper
        members[keeper] = keeper
    }
    for document in members.keys.sorted() { lines += "\(document)\t\(members[document]!)\n" }
    guard FileManager.default.createFile(atPath: arguments[3], contents: Data(lines.utf8)) else {
        fail("cannot write \(arguments[3])")
    }
    let seconds = Date().timeIntervalSince(start)
    let stats = result.reducers[0]
    print(
        "ours: \(next) documents, \(bytes) bytes in \(String(format: "%.2f", seconds)) s = \(String(format: "%.2f", Double(bytes) / 1e6 / seconds)) MB/s on \(threads) thread(s); removed \(members.count - Set(members.values).count); reducer peak \(stats.peakAccountedBytes) of \(memoryLimitBytes) bytes, \(stats.spilledRuns) spilled runs, \(stats.mergePasses) merge passes"
    )
    print("SECONDS \(seconds)")

case "quality":
    guard arguments.count >= 4 else { fail("usage: DedupBench quality <corpus.jsonl> <clusters.tsv> [threshold]") }
    let threshold = arguments.count > 4 ? Double(arguments[4]) ?? parameters.threshold : parameters.threshold
    let texts = readCorpus(arguments[2])
    var words: [UInt64] = []
    var shingles: [UInt64] = []
    let shingler = WordShingler(shingleWords: shingleWords)
    let sets: [Set<UInt64>] = texts.map {
        shingler.shingles($0, words: &words, into: &shingles)
        return Set(shingles)
    }
    // Exact: every pair sharing at least one shingle (all others have Jaccard 0) through an inverted index;
    // shingles in more than 1,000 documents are common phrases, skipped as candidates' only link (a pair with
    // Jaccard ≥ 0.5 shares many rarer shingles too).
    var postings: [UInt64: [Int32]] = [:]
    for (i, set) in sets.enumerated() { for s in set { postings[s, default: []].append(Int32(i)) } }
    var candidates = Set<UInt64>()
    for list in postings.values where list.count > 1 && list.count <= 1000 {
        for a in 0..<list.count {
            for b in (a + 1)..<list.count { candidates.insert(UInt64(list[a]) << 32 | UInt64(list[b])) }
        }
    }
    var truth = Set<UInt64>()
    for pair in candidates where exactJaccard(sets[Int(pair >> 32)], sets[Int(pair & 0xFFFF_FFFF)]) >= threshold {
        truth.insert(pair)
    }
    let clusterLines = (try? String(contentsOfFile: arguments[3], encoding: .utf8)) ?? ""
    var byCluster: [String: [Int]] = [:]
    for line in clusterLines.split(separator: "\n") {
        let fields = line.split(separator: "\t")
        guard fields.count == 2, let document = Int(fields[0]) else { continue }
        byCluster[String(fields[1]), default: []].append(document)
    }
    var found = Set<UInt64>()
    for members in byCluster.values {
        let sorted = members.sorted()
        for a in 0..<sorted.count {
            for b in (a + 1)..<sorted.count { found.insert(UInt64(sorted[a]) << 32 | UInt64(sorted[b])) }
        }
    }
    let hits = found.intersection(truth).count
    let precision = found.isEmpty ? 1 : Double(hits) / Double(found.count)
    let recall = truth.isEmpty ? 1 : Double(hits) / Double(truth.count)
    print(
        "pairs: \(truth.count) with Jaccard >= \(String(format: "%.2f", threshold)), \(found.count) found, \(hits) both; precision \(String(format: "%.4f", precision)) recall \(String(format: "%.4f", recall))"
    )
    print("QUALITY \(precision) \(recall)")

default:
    fail("unknown command \(arguments[1]); expected generate, run or quality")
}
