// What the `stream` job kind runs: materialize a mixture (read datasets through the stream — blend,
// shuffle, pack — and write the packed samples as shards of a new dataset, one shard per task slice,
// with the exactly-once writer and provenance), and verify every shard of a dataset.

public enum StreamMaterializer {
    /// One task's part of the mixture: global sample positions written as one shard.
    public struct Slice: Codable, Sendable, Equatable {
        public var index: Int
        public var positions: Range<Int64>
        public init(index: Int, positions: Range<Int64>) {
            self.index = index
            self.positions = positions
        }
        /// Stable shard name of the slice (a retried task writes the same name: exactly once).
        public func shardName(prefix: String) -> String {
            prefix + "-" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)
        }
    }

    /// The new dataset a mixture is written to.
    public struct Output: Sendable {
        public var directory: String
        public var name: String
        public init(directory: String, name: String) {
            self.directory = directory
            self.name = name
        }
    }

    /// Splits the first `totalSamples` positions of the global order into slices of at most `samplesPerShard`.
    public static func plan(totalSamples: Int64, samplesPerShard: Int64) -> [Slice] {
        precondition(totalSamples >= 0 && samplesPerShard > 0)
        return stride(from: Int64(0), to: totalSamples, by: Int(samplesPerShard)).enumerated().map { i, start in
            Slice(index: i, positions: start..<min(totalSamples, start + samplesPerShard))
        }
    }

    /// The index every slice's shard is recorded into: tokenizer and eot of the inputs, plus provenance.
    public static func outputIndex(for configuration: StreamConfiguration, name: String) -> DatasetIndex {
        let first = configuration.sources[0].index
        let vocabulary = configuration.sources.map(\.index.vocabularySize).max() ?? first.vocabularySize
        let total = configuration.sources.reduce(0) { $0 + $1.weight }
        let provenance = DatasetProvenance(
            inputs: configuration.sources.map {
                .init(
                    dataset: $0.index.name, location: $0.locator.location, weight: $0.weight / total,
                    tokenizerHash: $0.index.tokenizerHash)
            },
            seed: configuration.seed, sampleTokens: configuration.sequenceLength + 1, createdBy: "stream")
        let dtype =
            configuration.sources.contains { $0.index.dtype == .int32 }
            ? TokenDType.int32 : TokenDType.optimal(forVocabularySize: vocabulary)
        return DatasetIndex(
            name: name, tokenizerHash: first.tokenizerHash, vocabularySize: vocabulary,
            endOfTextID: first.endOfTextID, dtype: dtype, provenance: provenance)
    }

    /// Writes the samples at `slice.positions` of the configuration's global order (rank/world/batch size
    /// of the configuration are ignored) as one shard of `output`, each sample one sequence of T + 1
    /// tokens, and records it in the output's `index.json`. Re-running a slice is a no-op success.
    @discardableResult
    public static func materialize(
        _ configuration: StreamConfiguration, slice: Slice, output: Output,
        samplesPerRead: Int = 256
    ) throws -> ShardInfo {
        var single = configuration
        single.rank = 0
        single.worldSize = 1
        let stream = try TokenStream(single)
        let template = outputIndex(for: configuration, name: output.name)
        let writer = try ShardWriter(
            directory: output.directory, name: slice.shardName(prefix: output.name),
            dtype: template.dtype, endOfTextID: template.endOfTextID)
        let rowTokens = configuration.sequenceLength + 1
        var tokens: [Int32] = []
        var ids: [SampleID] = []
        var position = slice.positions.lowerBound
        do {
            while position < slice.positions.upperBound {
                let count = Int(min(Int64(samplesPerRead), slice.positions.upperBound - position))
                try stream.read(globalPositions: position, count: count, into: &tokens, ids: &ids)
                for row in 0..<count {
                    try writer.appendPackedSequence(tokens[(row * rowTokens)..<((row + 1) * rowTokens)])
                }
                position += Int64(count)
            }
        } catch {
            writer.abort()
            throw error
        }
        let info = try writer.finish()
        try DatasetIndex.update(directory: output.directory, creatingFrom: template) {
            (index: inout DatasetIndex) throws(DatasetIndexError) in
            try index.record(info)
        }
        return info
    }

    public struct VerificationFailure: Sendable, Equatable, CustomStringConvertible {
        public var shard: ShardIdentity
        public var reason: String
        public var description: String { "\(shard): \(reason)" }
    }

    /// Re-checks sizes, layout and both checksums of the named shards (all when nil) of a dataset, local
    /// or remote; returns the bad ones. A verify task runs this for its subset of shard names.
    public static func verify(_ source: StreamSource, shards names: [String]? = nil) -> [VerificationFailure] {
        var failures: [VerificationFailure] = []
        for shard in source.index.shards where names?.contains(shard.name) ?? true {
            let id = ShardIdentity(dataset: source.index.name, shard: shard.name, location: source.locator.location)
            do {
                let idx = try source.locator.localPath(for: shard.idxFile, expectedBytes: shard.idxBytes)
                defer { source.locator.release(localPath: idx) }
                let bin = try source.locator.localPath(for: shard.binFile, expectedBytes: shard.binBytes)
                defer { source.locator.release(localPath: bin) }
                try ShardVerifier.verify(shard, binPath: bin, idxPath: idx)
            } catch let error as ShardError {
                failures.append(VerificationFailure(shard: id, reason: error.description))
            } catch let error as StreamError {
                if case .shardUnavailable(_, let reason) = error {
                    failures.append(VerificationFailure(shard: id, reason: "unavailable: \(reason)"))
                } else {
                    failures.append(VerificationFailure(shard: id, reason: error.description))
                }
            } catch {
                failures.append(VerificationFailure(shard: id, reason: "\(error)"))
            }
        }
        return failures
    }
}
