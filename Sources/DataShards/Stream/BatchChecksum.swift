// The checksum of the tokens one optimizer step consumed on one rank (issue 20, batch replay): the trainer
// reports it as the metric `batch_checksum` at every step, and `opsctl replay` recomputes it from the recorded
// stream state, so a replay that reads other tokens than the run did is caught, not printed as if it were right.
// SHA-256 of the micro-batches' token ids as little-endian Int32 rows, in order, cut to its first 52 bits so that
// the value survives a metric's double exactly (doubles hold integers up to 2^53).

import Checksum

public enum BatchChecksum {
    /// Metric name of the per-step checksum.
    public static let metricName = "batch_checksum"

    /// The checksum of one step's micro-batches (each B x (T + 1) ids, row-major).
    public static func of(_ microbatches: [[Int32]]) -> Int64 {
        var hash = SHA256()
        for batch in microbatches {
            batch.withUnsafeBufferPointer { ids in
                var littleEndian = [UInt8]()
                littleEndian.reserveCapacity(ids.count * 4)
                for id in ids {
                    let value = UInt32(bitPattern: id)
                    littleEndian.append(UInt8(truncatingIfNeeded: value))
                    littleEndian.append(UInt8(truncatingIfNeeded: value >> 8))
                    littleEndian.append(UInt8(truncatingIfNeeded: value >> 16))
                    littleEndian.append(UInt8(truncatingIfNeeded: value >> 24))
                }
                hash.update(littleEndian)
            }
        }
        let digest = hash.finalize()
        var value: UInt64 = 0
        for byte in digest.prefix(7) { value = value << 8 | UInt64(byte) }
        return Int64(value >> 4) // 56 bits → 52
    }
}
