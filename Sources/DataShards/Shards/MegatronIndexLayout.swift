// The `.idx` layout of Megatron-LM's indexed dataset (`_IndexWriter` / `_IndexReader` in
// megatron/core/datasets/indexed_dataset.py), all little-endian:
//   magic "MMIDIDX\0\0" (9 bytes) | version u64 = 1 | dtype code u8 | sequence count u64 | document count u64
//   | int32 sequence lengths [sequence count] | int64 sequence byte pointers [sequence count]
//   | int64 document indices [document count]
// The document indices start at 0 and hold, per document, one past its last sequence, so
// `document count` = documents + 1. We write one sequence per document.

enum MegatronIndexLayout {
    static let magic: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
    static let version: UInt64 = 1
    /// 9 magic + 8 version + 1 dtype + 8 sequence count + 8 document count.
    static let headerBytes = 34

    struct Header: Equatable {
        var dtype: TokenDType
        var sequenceCount: Int
        var documentIndexCount: Int

        var lengthsOffset: Int { MegatronIndexLayout.headerBytes }
        var pointersOffset: Int { lengthsOffset + 4 * sequenceCount }
        var documentIndicesOffset: Int { pointersOffset + 8 * sequenceCount }
        var totalBytes: Int { documentIndicesOffset + 8 * documentIndexCount }
    }

    /// Serialises a complete `.idx` for one sequence per document.
    static func encode(dtype: TokenDType, sequenceLengths: [Int32]) -> [UInt8] {
        let n = sequenceLengths.count
        let header = Header(dtype: dtype, sequenceCount: n, documentIndexCount: n + 1)
        var out = [UInt8]()
        out.reserveCapacity(header.totalBytes)
        out.append(contentsOf: magic)
        appendLE(&out, version)
        out.append(dtype.megatronCode)
        appendLE(&out, UInt64(n))
        appendLE(&out, UInt64(n + 1))
        for length in sequenceLengths { appendLE(&out, UInt32(bitPattern: length)) }
        var pointer: Int64 = 0
        for length in sequenceLengths {
            appendLE(&out, UInt64(bitPattern: pointer))
            pointer += Int64(length) * Int64(dtype.byteWidth)
        }
        for i in 0...n { appendLE(&out, UInt64(i)) }
        return out
    }

    /// Parses and validates the fixed header; `bytes` is the whole `.idx` file.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, file: String) throws(ShardError) -> Header {
        guard bytes.count >= headerBytes else {
            throw .sizeMismatch(file: file, expectedBytes: Int64(headerBytes), actualBytes: Int64(bytes.count))
        }
        for i in 0..<magic.count where bytes[i] != magic[i] { throw .badMagic(file: file) }
        let foundVersion = loadLE(bytes, 9, UInt64.self)
        guard foundVersion == version else { throw .unsupportedVersion(file: file, found: foundVersion) }
        let code = bytes[17]
        guard let dtype = TokenDType(megatronCode: code) else { throw .unsupportedDType(file: file, code: code) }
        let sequences = loadLE(bytes, 18, UInt64.self)
        let documents = loadLE(bytes, 26, UInt64.self)
        // Bound the counts by the file size before multiplying, so a corrupt header cannot overflow.
        guard sequences <= UInt64(bytes.count), documents <= UInt64(bytes.count) else {
            throw .inconsistentIndex(
                file: file,
                reason: "sequence count \(sequences) / document count \(documents) exceed the file size \(bytes.count)")
        }
        let header = Header(dtype: dtype, sequenceCount: Int(sequences), documentIndexCount: Int(documents))
        guard header.totalBytes == bytes.count else {
            throw .sizeMismatch(file: file, expectedBytes: Int64(header.totalBytes), actualBytes: Int64(bytes.count))
        }
        guard header.documentIndexCount >= 1 else {
            throw .inconsistentIndex(file: file, reason: "document index is empty (it must start with 0)")
        }
        return header
    }

    @inline(__always)
    static func loadLE<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @inline(__always)
    static func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}
