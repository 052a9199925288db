// Memory-mapped reader of one Megatron `.bin`/`.idx` pair. Opening validates the header and that the
// lengths, pointers, document indices and the `.bin` size agree; token access is zero-copy.

public final class ShardReader: @unchecked Sendable {
    public let binPath: String
    public let idxPath: String
    public let dtype: TokenDType
    /// Number of sequences (= documents for shards we write).
    public let sequenceCount: Int
    /// Number of documents (Megatron's document count minus its leading 0 entry).
    public let documentCount: Int
    public let tokenCount: Int64

    let bin: MappedFile
    let idx: MappedFile
    private let header: MegatronIndexLayout.Header

    /// - Parameter path: the shard's path prefix (without `.bin`/`.idx`).
    public convenience init(prefix path: String) throws(ShardError) {
        try self.init(binPath: path + ".bin", idxPath: path + ".idx")
    }

    public init(binPath: String, idxPath: String) throws(ShardError) {
        self.binPath = binPath
        self.idxPath = idxPath
        idx = try MappedFile(path: idxPath)
        header = try MegatronIndexLayout.parseHeader(idx.bytes, file: idxPath)
        dtype = header.dtype
        sequenceCount = header.sequenceCount
        documentCount = header.documentIndexCount - 1
        bin = try MappedFile(path: binPath)

        // Lengths and pointers must tile the `.bin` exactly (the layout we write and Megatron expects).
        let raw = idx.bytes
        var expectedPointer: Int64 = 0
        let width = Int64(header.dtype.byteWidth)
        for i in 0..<sequenceCount {
            let length = MegatronIndexLayout.loadLE(raw, header.lengthsOffset + 4 * i, Int32.self)
            let pointer = MegatronIndexLayout.loadLE(raw, header.pointersOffset + 8 * i, Int64.self)
            guard length >= 0 else {
                throw .inconsistentIndex(file: idxPath, reason: "sequence \(i) has negative length \(length)")
            }
            guard pointer == expectedPointer else {
                throw .inconsistentIndex(
                    file: idxPath, reason: "sequence \(i) points to byte \(pointer), expected \(expectedPointer)")
            }
            expectedPointer += Int64(length) * width
        }
        guard Int64(bin.byteCount) == expectedPointer else {
            throw .sizeMismatch(file: binPath, expectedBytes: expectedPointer, actualBytes: Int64(bin.byteCount))
        }
        tokenCount = expectedPointer / width
        var previous: Int64 = -1
        for d in 0..<header.documentIndexCount {
            let value = MegatronIndexLayout.loadLE(raw, header.documentIndicesOffset + 8 * d, Int64.self)
            if d == 0 && value != 0 {
                throw .inconsistentIndex(file: idxPath, reason: "document index must start with 0, found \(value)")
            }
            guard value > previous || d == 0, value <= Int64(sequenceCount) else {
                throw .inconsistentIndex(
                    file: idxPath,
                    reason: "document index \(d) = \(value) is not increasing within 0...\(sequenceCount)")
            }
            previous = value
        }
        if header.documentIndexCount > 0 && previous != Int64(sequenceCount) {
            throw .inconsistentIndex(
                file: idxPath, reason: "the last document ends at sequence \(previous), not at \(sequenceCount)")
        }
    }

    /// Token count of sequence `i`.
    @inline(__always)
    public func sequenceLength(_ i: Int) -> Int {
        Int(MegatronIndexLayout.loadLE(idx.bytes, header.lengthsOffset + 4 * i, Int32.self))
    }

    /// Byte offset of sequence `i` in the `.bin`.
    @inline(__always)
    public func sequenceByteOffset(_ i: Int) -> Int {
        Int(MegatronIndexLayout.loadLE(idx.bytes, header.pointersOffset + 8 * i, Int64.self))
    }

    /// All sequence lengths, in file order.
    public var sequenceLengths: [Int] { (0..<sequenceCount).map(sequenceLength) }

    /// The raw little-endian token bytes of sequence `i` (zero-copy view of the mapping).
    public func sequenceBytes(_ i: Int) throws(ShardError) -> UnsafeRawBufferPointer {
        guard i >= 0 && i < sequenceCount else {
            throw .documentOutOfRange(file: binPath, index: i, count: sequenceCount)
        }
        let start = sequenceByteOffset(i)
        return UnsafeRawBufferPointer(rebasing: bin.bytes[start..<(start + sequenceLength(i) * dtype.byteWidth)])
    }

    /// The whole token area of the `.bin`.
    public var tokenBytes: UnsafeRawBufferPointer { bin.bytes }

    /// Token ids of document `i` (one sequence per document), widened to UInt32. Copies; for the hot path
    /// use `sequenceBytes(_:)` or `withTokens(ofSequence:_:)`.
    public func tokens(ofDocument i: Int) throws(ShardError) -> [UInt32] {
        let raw = try sequenceBytes(i)
        switch dtype {
        case .uint16: return raw.withMemoryRebound(to: UInt16.self) { $0.map { UInt32(UInt16(littleEndian: $0)) } }
        case .int32:
            return raw.withMemoryRebound(to: Int32.self) { $0.map { UInt32(bitPattern: Int32(littleEndian: $0)) } }
        }
    }
}
