import Checksum
import Foundation

// Writes one shard (a Megatron `.bin`/`.idx` pair) exactly once.
//
// Token ids stream into temporary files (`.<name>.bin.tmp-<id>`) in the target directory while their
// SHA-256 is computed on the fly; `finish()` writes the index, fsyncs both files, and then, under a lock on
// the directory, either renames both into place (`.bin` first, `.idx` last: the `.idx` is the commit
// marker) and fsyncs the directory, or — if a committed shard with the same name and content already
// exists (a retried or duplicated task) — discards the temporaries and reports success. A different
// committed content is a `conflictingShard` error, never an overwrite. Any error or `abort()` deletes the
// temporaries; a crash leaves only temporaries, which `cleanupStaleTemporaries(in:)` removes.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class ShardWriter {
    public let directory: String
    public let name: String
    public let dtype: TokenDType
    public let endOfTextID: UInt32

    private let binTemp: String
    private let idxTemp: String
    private var binFD: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var binHasher = SHA256()
    private var sequenceLengths: [Int32] = []
    private var tokenCount: Int64 = 0
    private var open = true

    static let temporaryMarker = ".tmp-"

    public init(
        directory: String, name: String, dtype: TokenDType, endOfTextID: UInt32,
        bufferBytes: Int = 1 << 20
    ) throws(ShardError) {
        try ShardInfo.validate(name: name)
        guard endOfTextID <= dtype.maxTokenID else {
            throw .tokenOutOfRange(file: ShardInfo.binFileName(name), document: -1, tokenID: endOfTextID, dtype: dtype)
        }
        self.directory = directory
        self.name = name
        self.dtype = dtype
        self.endOfTextID = endOfTextID
        let unique = "\(getpid())-\(UUID().uuidString.prefix(8))"
        binTemp = directory + "/." + ShardInfo.binFileName(name) + Self.temporaryMarker + unique
        idxTemp = directory + "/." + ShardInfo.idxFileName(name) + Self.temporaryMarker + unique
        binFD = try PosixFile.createExclusive(binTemp)
        buffer = .allocate(byteCount: max(bufferBytes, 4096), alignment: 16)
    }

    deinit {
        if open { discard() }
        buffer.deallocate()
    }

    public var documentsWritten: Int { sequenceLengths.count }
    public var tokensWritten: Int64 { tokenCount }

    /// Appends one document and its end-of-text token.
    public func appendDocument<C: Collection>(_ tokens: C) throws(ShardError) where C.Element: BinaryInteger {
        try append(tokens, endOfText: true)
    }

    /// Appends one already packed sequence as it is (no end-of-text added): used for materialized mixtures
    /// whose sequences were cut from documents that already end with end-of-text.
    public func appendPackedSequence<C: Collection>(_ tokens: C) throws(ShardError) where C.Element: BinaryInteger {
        try append(tokens, endOfText: false)
    }

    private func append<C: Collection>(_ tokens: C, endOfText: Bool) throws(ShardError) where C.Element: BinaryInteger {
        guard open else { throw .writerClosed(file: ShardInfo.binFileName(name)) }
        // Contiguous storage of the common id types takes a specialised loop; anything else is widened first.
        let handled: Result<Void, ShardError>? = tokens.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ShardError) in
                switch buffer {
                case let b as UnsafeBufferPointer<UInt32>: try append(buffer: b, endOfText: endOfText)
                case let b as UnsafeBufferPointer<Int32>: try append(buffer: b, endOfText: endOfText)
                case let b as UnsafeBufferPointer<UInt16>: try append(buffer: b, endOfText: endOfText)
                case let b as UnsafeBufferPointer<Int>: try append(buffer: b, endOfText: endOfText)
                default:
                    let widened = buffer.map { Int64(truncatingIfNeeded: $0) }
                    try widened.withUnsafeBufferPointer { (w) throws(ShardError) in
                        try append(buffer: w, endOfText: endOfText)
                    }
                }
            }
        }
        if let handled { return try handled.get() }
        let widened = tokens.map { Int64(truncatingIfNeeded: $0) }
        let outcome = widened.withUnsafeBufferPointer { w in
            Result { () throws(ShardError) in try append(buffer: w, endOfText: endOfText) }
        }
        try outcome.get()
    }

    private func append<T: FixedWidthInteger>(buffer tokens: UnsafeBufferPointer<T>, endOfText: Bool) throws(ShardError)
    {
        let document = sequenceLengths.count
        let length = tokens.count + (endOfText ? 1 : 0)
        guard length <= Int(Int32.max) else {
            fail()
            throw .documentTooLong(file: ShardInfo.binFileName(name), document: document, tokens: length)
        }
        // Validate before writing anything, so a bad document never reaches the file.
        let maxID = Int64(dtype.maxTokenID)
        var bad: T? = nil
        for token in tokens where Int64(truncatingIfNeeded: token) < 0 || Int64(truncatingIfNeeded: token) > maxID {
            bad = token
            break
        }
        if let bad {
            fail()
            throw .tokenOutOfRange(
                file: ShardInfo.binFileName(name), document: document,
                tokenID: UInt32(truncatingIfNeeded: bad), dtype: dtype)
        }
        do throws(ShardError) {
            switch dtype {
            case .uint16: try store(tokens, as: UInt16.self)
            case .int32: try store(tokens, as: Int32.self)
            }
            if endOfText {
                switch dtype {
                case .uint16: try put(UInt16(truncatingIfNeeded: endOfTextID))
                case .int32: try put(Int32(truncatingIfNeeded: endOfTextID))
                }
            }
        } catch {
            fail()
            throw error
        }
        sequenceLengths.append(Int32(length))
        tokenCount += Int64(length)
    }

    /// Copies validated ids into the write buffer in chunks, converting to the on-disk little-endian type.
    private func store<T: FixedWidthInteger, U: FixedWidthInteger>(_ tokens: UnsafeBufferPointer<T>, as _: U.Type)
        throws(ShardError)
    {
        let width = MemoryLayout<U>.size
        var index = 0
        while index < tokens.count {
            if buffer.count - buffered < width { try flushBuffer() }
            let take = min(tokens.count - index, (buffer.count - buffered) / width)
            let destination = (buffer.baseAddress! + buffered).bindMemory(to: U.self, capacity: take)
            for k in 0..<take { destination[k] = U(truncatingIfNeeded: tokens[index + k]).littleEndian }
            buffered += take * width
            index += take
        }
    }

    @inline(__always)
    private func put<T: FixedWidthInteger>(_ value: T) throws(ShardError) {
        let width = MemoryLayout<T>.size
        if buffered + width > buffer.count { try flushBuffer() }
        buffer.storeBytes(of: value.littleEndian, toByteOffset: buffered, as: T.self)
        buffered += width
    }

    private func flushBuffer() throws(ShardError) {
        guard buffered > 0 else { return }
        let chunk = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<buffered])
        try PosixFile.writeAll(binFD, chunk, path: binTemp)
        binHasher.update(buffer: chunk)
        buffered = 0
    }

    /// Makes the shard durable and visible under its final names, exactly once. Returns what the dataset
    /// index records about it (for an existing identical shard, its facts).
    @discardableResult
    public func finish() throws(ShardError) -> ShardInfo {
        guard open else { throw .writerClosed(file: ShardInfo.binFileName(name)) }
        do throws(ShardError) {
            try flushBuffer()
            try PosixFile.sync(binFD, path: binTemp)
            close(binFD)
            binFD = -1
            let idxBytes = MegatronIndexLayout.encode(dtype: dtype, sequenceLengths: sequenceLengths)
            let idxFD = try PosixFile.createExclusive(idxTemp)
            do throws(ShardError) {
                try PosixFile.writeAll(idxFD, bytes: idxBytes, path: idxTemp)
                try PosixFile.sync(idxFD, path: idxTemp)
            } catch {
                close(idxFD)
                throw error
            }
            close(idxFD)
            let info = ShardInfo(
                name: name, binFile: ShardInfo.binFileName(name), idxFile: ShardInfo.idxFileName(name),
                binSHA256: binHasher.finalizeHex(), idxSHA256: SHA256.hex(of: idxBytes),
                binBytes: tokenCount * Int64(dtype.byteWidth), idxBytes: Int64(idxBytes.count),
                tokens: tokenCount, documents: Int64(sequenceLengths.count), dtype: dtype)
            try commit(info)
            open = false
            return info
        } catch {
            fail()
            throw error
        }
    }

    private func commit(_ info: ShardInfo) throws(ShardError) {
        let binFinal = directory + "/" + info.binFile
        let idxFinal = directory + "/" + info.idxFile
        try PosixFile.withDirectoryLock(directory) { () throws(ShardError) in
            // The `.idx` is renamed last, so its presence means a complete commit happened before.
            if PosixFile.exists(idxFinal) && PosixFile.exists(binFinal) {
                let existing = try Self.combinedChecksum(bin: binFinal, idx: idxFinal)
                let new = info.binSHA256 + info.idxSHA256
                PosixFile.removeIfPresent(binTemp)
                PosixFile.removeIfPresent(idxTemp)
                if existing != new {
                    throw .conflictingShard(
                        file: binFinal, existingSHA256: String(existing.prefix(64)), newSHA256: info.binSHA256)
                }
                return
            }
            try PosixFile.renameAtomically(binTemp, to: binFinal)
            try PosixFile.renameAtomically(idxTemp, to: idxFinal)
            try PosixFile.syncDirectory(directory)
        }
    }

    private static func combinedChecksum(bin: String, idx: String) throws(ShardError) -> String {
        do {
            return try SHA256.hex(ofFileAt: bin) + SHA256.hex(ofFileAt: idx)
        } catch {
            throw .io(file: bin, operation: "checksum existing shard", errno: 0, message: error.description)
        }
    }

    /// Abandons the shard: the temporaries are deleted and nothing becomes visible.
    public func abort() {
        guard open else { return }
        discard()
    }

    private func fail() { if open { discard() } }

    private func discard() {
        open = false
        if binFD >= 0 {
            close(binFD)
            binFD = -1
        }
        PosixFile.removeIfPresent(binTemp)
        PosixFile.removeIfPresent(idxTemp)
    }

    /// Deletes temporaries left by crashed writers in `directory` (files named `.<shard>.{bin,idx}.tmp-*`)
    /// that were last modified more than `olderThan` seconds ago (0 = all; only use 0 when no writer of this
    /// directory is running). Returns the removed file names.
    @discardableResult
    public static func cleanupStaleTemporaries(in directory: String, olderThan seconds: Double = 0) throws(ShardError)
        -> [String]
    {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw .io(file: directory, operation: "list directory", errno: 0, message: "\(error)")
        }
        let now = Date().timeIntervalSince1970
        var removed: [String] = []
        for file in names.sorted()
        where file.hasPrefix(".") && file.contains(temporaryMarker)
            && (file.contains(".bin" + temporaryMarker) || file.contains(".idx" + temporaryMarker))
        {
            let path = directory + "/" + file
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            if seconds > 0 && now - Double(st.st_mtim.tv_sec) < seconds { continue }
            if unlink(path) == 0 { removed.append(file) }
        }
        return removed
    }
}
