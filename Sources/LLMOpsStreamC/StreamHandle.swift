// One open stream behind a C handle: the Swift `TokenStream` (so a foreign reader gets exactly its samples,
// with no second implementation to drift), a reused batch, and the last error, all behind one lock so two
// threads of the caller (Python releases its GIL during a ctypes call) cannot interleave a batch.
import DataShards
import Foundation
import Primitives

final class StreamHandle: Sendable {
    /// What the caller sizes its buffers from (`llmops_stream_info`).
    struct Info: Encodable {
        var batchSize: Int
        var sequenceLength: Int
        var rank: Int
        var worldSize: Int
        /// 2: uint16 ids copied as stored (every dataset is uint16); 4: int32 ids.
        var tokenBytes: Int
        var samplesPerEpoch: Int64
        var samplesPerDataset: [Int64]
        var datasets: [String]
        var order: String
    }

    private struct Reader {
        let stream: TokenStream
        var wide: Batch
        /// The rows' samples of the last batch (16-bit batches are written straight into the caller's buffer).
        var ids: [SampleID] = []
        var lastError = ""
    }

    let info: Info
    private let reader: Locked<Reader>

    init(spec: StreamSpec) throws(StreamOpenError) {
        let configuration = try spec.configuration()
        let stream: TokenStream
        do { stream = try TokenStream(configuration, resumingFrom: spec.state ?? StreamState()) } catch {
            throw StreamOpenError(error)
        }
        let uint16 = configuration.sources.allSatisfy { $0.index.dtype == .uint16 }
        info = Info(
            batchSize: spec.batchSize, sequenceLength: spec.sequenceLength, rank: spec.rank,
            worldSize: spec.worldSize, tokenBytes: uint16 ? 2 : 4, samplesPerEpoch: stream.samplesPerEpoch,
            samplesPerDataset: stream.samplesPerDataset, datasets: configuration.sources.map(\.index.name),
            order: configuration.orderFingerprint)
        // 16-bit batches go straight into the caller's buffer; only int32 ones pass through a batch of ours.
        reader = Locked(
            Reader(
                stream: stream, wide: Batch(batchSize: uint16 ? 0 : spec.batchSize, sequenceLength: spec.sequenceLength)
            ))
    }

    /// Bytes of one batch of this rank: B rows of T + 1 ids.
    var batchBytes: Int { info.batchSize * (info.sequenceLength + 1) * info.tokenBytes }

    /// Copies the next `steps` batches of this rank into `destination` (steps x B rows of T + 1 ids, row-major)
    /// and, when `positions` is given, each row's global position. The state moves past the last batch; on
    /// an error it stays after the last batch copied whole.
    func next(
        steps: Int, into destination: UnsafeMutableRawPointer, capacityBytes: Int,
        positions: UnsafeMutablePointer<Int64>?
    ) throws(StreamOpenError) {
        guard steps >= 1 else { throw StreamOpenError(kind: "invalidArgument", field: "steps", reason: "must be >= 1") }
        let needed = steps.multipliedReportingOverflow(by: batchBytes)
        guard !needed.overflow, needed.partialValue <= capacityBytes else {
            throw StreamOpenError(
                kind: "bufferTooSmall", field: "buffer",
                reason: "\(steps) batches need \(steps) x \(batchBytes) bytes, the buffer has \(capacityBytes)")
        }
        guard Int(bitPattern: destination) % info.tokenBytes == 0 else {
            throw StreamOpenError(
                kind: "invalidArgument", field: "buffer", reason: "must be aligned to \(info.tokenBytes) bytes")
        }
        let batchBytes = self.batchBytes
        let batchTokens = info.batchSize * (info.sequenceLength + 1)
        let compact = info.tokenBytes == 2
        try reader.withLock { (reader: inout Reader) throws(StreamOpenError) in
            for step in 0..<steps {
                let target = destination + step * batchBytes
                do throws(StreamError) {
                    if compact {
                        // Straight into the caller's memory: no batch to copy out of (docs/python.md, benchmark).
                        let rows = UnsafeMutableBufferPointer(
                            start: target.bindMemory(to: UInt16.self, capacity: batchTokens), count: batchTokens)
                        _ = try reader.stream.fill(uint16Rows: rows, ids: &reader.ids)
                    } else {
                        try reader.stream.fill(&reader.wide)
                        reader.ids = reader.wide.samples
                        reader.wide.tokens.withUnsafeBytes {
                            target.copyMemory(from: $0.baseAddress!, byteCount: batchBytes)
                        }
                    }
                } catch {
                    throw StreamOpenError(error)
                }
                if let positions {
                    let rows = positions + step * info.batchSize
                    for (row, sample) in reader.ids.enumerated() { rows[row] = sample.globalPosition }
                }
            }
        }
    }

    /// The state to resume from: `{"epoch", "position", "order"}`, identical on every rank.
    var stateJSON: String {
        let state = reader.withLock { $0.stream.state }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(state)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    var infoJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(info)) ?? Data(), as: UTF8.self)
    }

    var lastError: String {
        get { reader.withLock { $0.lastError } }
        set { reader.withLock { $0.lastError = newValue } }
    }
}
