// The JSON spec a foreign caller (the Python SDK's `llmops.data`) opens a stream with: the same settings as
// `StreamConfiguration` and a resume state, decoded strictly — an unknown key, a wrong type or a value out of
// bounds is an error naming the field, never a stream that silently differs from the one the caller meant.
import DataShards
import Foundation

/// `{"sources": [{"location": "/data/web", "weight": 0.7}], "sequenceLength": 1024, "batchSize": 8, "seed": 1,
/// "rank": 0, "worldSize": 1, "state": {"epoch": 0, "position": 0, "order": "…"}}`; see llmops_stream.h.
struct StreamSpec: Decodable {
    struct Source: Decodable {
        /// A directory path, `file://…`, `http://…` or `https://…` (the last two need `cacheDirectory`).
        var location: String
        var weight: Double

        enum CodingKeys: String, CodingKey, CaseIterable { case location, weight }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try StreamSpec.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            location = try c.decode(String.self, forKey: .location)
            weight = try c.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        }
    }

    var sources: [Source]
    var sequenceLength: Int
    var batchSize: Int
    var seed: UInt64
    var rank: Int
    var worldSize: Int
    var readerThreads: Int
    var shuffleWindow: Int
    var samplesPerEpoch: Int64?
    var maxOpenShards: Int
    var verifyAhead: Bool
    /// Where remote (http/https) shards are cached; nil: only local datasets can be read.
    var cacheDirectory: String?
    var cacheCapacityBytes: Int64
    var state: StreamState?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case sources, sequenceLength, batchSize, seed, rank, worldSize, readerThreads, shuffleWindow, samplesPerEpoch
        case maxOpenShards, verifyAhead, cacheDirectory, cacheCapacityBytes, state
    }

    /// The spec is a few hundred bytes; anything near this is a caller's bug, not a blend.
    static let maxSpecBytes = 1 << 20
    /// Bounds beyond `StreamConfiguration.validate` (which checks the lower ones): a foreign caller sizes its
    /// buffers from these, so an absurd value is refused here instead of becoming a huge allocation.
    static let maxSources = 1024
    static let maxSequenceLength = 1 << 20
    static let maxBatchSize = 1 << 16
    static let maxWorldSize = 1 << 16
    static let maxReaderThreads = 256
    /// 16 GiB: the default size limit of the shard cache of remote datasets.
    static let defaultCacheCapacityBytes: Int64 = 16 << 30

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try StreamSpec.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        sources = try c.decode([Source].self, forKey: .sources)
        sequenceLength = try c.decode(Int.self, forKey: .sequenceLength)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        seed = try StreamSpec.decodeSeed(c)
        rank = try c.decodeIfPresent(Int.self, forKey: .rank) ?? 0
        worldSize = try c.decodeIfPresent(Int.self, forKey: .worldSize) ?? 1
        readerThreads = try c.decodeIfPresent(Int.self, forKey: .readerThreads) ?? 1
        shuffleWindow = try c.decodeIfPresent(Int.self, forKey: .shuffleWindow) ?? 4096
        samplesPerEpoch = try c.decodeIfPresent(Int64.self, forKey: .samplesPerEpoch)
        maxOpenShards = try c.decodeIfPresent(Int.self, forKey: .maxOpenShards) ?? 8
        verifyAhead = try c.decodeIfPresent(Bool.self, forKey: .verifyAhead) ?? true
        cacheDirectory = try c.decodeIfPresent(String.self, forKey: .cacheDirectory)
        cacheCapacityBytes =
            try c.decodeIfPresent(Int64.self, forKey: .cacheCapacityBytes) ?? StreamSpec.defaultCacheCapacityBytes
        state = try c.decodeIfPresent(StreamState.self, forKey: .state)
    }

    /// Foundation's decoder reports a negative number for a UInt64 without the key's path, so it is named here.
    private static func decodeSeed(_ c: KeyedDecodingContainer<CodingKeys>) throws -> UInt64 {
        if let seed = try? c.decode(UInt64.self, forKey: .seed) { return seed }
        if let negative = try? c.decode(Int64.self, forKey: .seed) {
            throw StreamOpenError(field: "seed", reason: "must be an integer >= 0, got \(negative)")
        }
        return try c.decode(UInt64.self, forKey: .seed) // throws the decoder's error: missing, or not a number
    }

    /// Decodes and checks the upper bounds; the lower ones are `StreamConfiguration.validate`'s.
    static func decode(_ json: Data) throws(StreamOpenError) -> StreamSpec {
        guard json.count <= maxSpecBytes else {
            throw StreamOpenError(field: "", reason: "the spec has \(json.count) bytes, at most \(maxSpecBytes)")
        }
        let spec: StreamSpec
        do { spec = try JSONDecoder().decode(StreamSpec.self, from: json) } catch let error as StreamOpenError {
            throw error
        } catch let error as DecodingError {
            throw StreamOpenError(error)
        } catch {
            throw StreamOpenError(field: "", reason: "\(error)")
        }
        try spec.checkUpperBounds()
        return spec
    }

    private func checkUpperBounds() throws(StreamOpenError) {
        let bounds: [(String, Int, Int)] = [
            ("sources", sources.count, StreamSpec.maxSources),
            ("sequenceLength", sequenceLength, StreamSpec.maxSequenceLength),
            ("batchSize", batchSize, StreamSpec.maxBatchSize),
            ("worldSize", worldSize, StreamSpec.maxWorldSize),
            ("readerThreads", readerThreads, StreamSpec.maxReaderThreads),
        ]
        for (field, value, limit) in bounds where value > limit {
            throw StreamOpenError(field: field, reason: "must be at most \(limit), got \(value)")
        }
        if cacheCapacityBytes < 1 {
            throw StreamOpenError(field: "cacheCapacityBytes", reason: "must be >= 1, got \(cacheCapacityBytes)")
        }
    }

    static func refuseUnknownKeys(in decoder: Decoder, known: [String]) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where !known.contains(key.stringValue) {
            let path = StreamOpenError.path(decoder.codingPath + [key])
            throw StreamOpenError(field: path, reason: "unknown key; expected one of \(known.joined(separator: ", "))")
        }
    }

    /// The stream this spec describes, resuming from `state` (or the start).
    func configuration() throws(StreamOpenError) -> StreamConfiguration {
        var cache: ShardCache?
        if let cacheDirectory {
            do { cache = try ShardCache(directory: cacheDirectory, capacityBytes: cacheCapacityBytes) } catch {
                throw StreamOpenError(field: "cacheDirectory", reason: error.description)
            }
        }
        var opened: [StreamSource] = []
        for (i, source) in sources.enumerated() {
            do { opened.append(try StreamSource.at(source.location, weight: source.weight, cache: cache)) } catch {
                throw StreamOpenError(field: "sources[\(i)].location", reason: error.description)
            }
        }
        return StreamConfiguration(
            sources: opened, sequenceLength: sequenceLength, batchSize: batchSize, seed: seed, rank: rank,
            worldSize: worldSize, readerThreads: readerThreads, shuffleWindow: shuffleWindow,
            samplesPerEpoch: samplesPerEpoch, maxOpenShards: maxOpenShards, verifyAhead: verifyAhead)
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}
