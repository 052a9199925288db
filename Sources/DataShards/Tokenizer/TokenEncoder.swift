/// Encodes text with one tokenizer on one thread: owns a bounded cache of frequent pre-tokens.
/// Make one per thread (`tokenizer.makeEncoder()`); the tokenizer itself is shared read-only.
public final class TokenEncoder {
    public let tokenizer: Tokenizer
    /// nil for one-off encoders (`Tokenizer.encode`), which would not amortise the cache's 0.5 MiB set-up.
    private let cache: PieceCache?
    private let merger = BytePairMerger()
    // Raw views of the tokenizer's tables (kept alive by `tokenizer`): no shared reference counting per piece.
    private let ranks: PairRankView
    private let byteIds: UnsafeMutablePointer<UInt32>
    private let pattern: SplitPattern
    private var scratch: [UInt32] = []
    private var prefixed: [UInt8] = []

    init(_ tokenizer: Tokenizer, cached: Bool = true) {
        self.tokenizer = tokenizer
        cache = cached ? PieceCache() : nil
        ranks = tokenizer.pairTable.view
        pattern = tokenizer.splitPattern
        byteIds = .allocate(capacity: 256)
        tokenizer.byteIds.withUnsafeBufferPointer { byteIds.initialize(from: $0.baseAddress!, count: 256) }
        scratch.reserveCapacity(256)
    }

    deinit { byteIds.deallocate() }

    /// The ids of `text`.
    public func encode(_ text: String, matchAddedTokens: Bool = true) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        encode(text, into: &out, matchAddedTokens: matchAddedTokens)
        return out
    }

    /// Appends the ids of `text` to `out` (reuse one buffer across documents to avoid allocations).
    public func encode(_ text: String, into out: inout [UInt32], matchAddedTokens: Bool = true) {
        var text = text
        text.withUTF8 { encode(utf8: $0, into: &out, matchAddedTokens: matchAddedTokens) }
    }

    /// Appends the ids of UTF-8 bytes to `out`. The bytes should be valid UTF-8; invalid bytes are
    /// encoded one byte per pre-token rather than rejected.
    public func encode(utf8 text: UnsafeBufferPointer<UInt8>, into out: inout [UInt32], matchAddedTokens: Bool = true) {
        guard let base = text.baseAddress, text.count > 0 else { return }
        let count = text.count
        // The splitter is read in place, never copied: a copy would retain its arrays, a reference count that
        // encoders on other threads share.
        if !matchAddedTokens || tokenizer.addedTokenSplitter.isEmpty {
            encodeSegment(base, count, into: &out)
            return
        }
        var pos = 0
        while pos < count {
            let m = tokenizer.addedTokenSplitter.firstPass.nextMatch(in: base, count: count, from: pos)
            encodeMatchingSecondPass(base, from: pos, to: m?.start ?? count, into: &out)
            guard let m else { return }
            out.append(m.id)
            pos = m.end
        }
    }

    /// The text between two first-pass added tokens: second-pass (normalized) added tokens, and the rest as
    /// segments of ordinary text.
    private func encodeMatchingSecondPass(
        _ base: UnsafePointer<UInt8>, from: Int, to end: Int, into out: inout [UInt32]
    ) {
        var pos = from
        while pos < end {
            guard let m = tokenizer.addedTokenSplitter.secondPass.nextMatch(in: base, count: end, from: pos) else {
                encodeSegment(base + pos, end - pos, into: &out)
                return
            }
            if m.start > pos { encodeSegment(base + pos, m.start - pos, into: &out) }
            out.append(m.id)
            pos = m.end
        }
    }

    private func encodeSegment(_ base: UnsafePointer<UInt8>, _ count: Int, into out: inout [UInt32]) {
        if count == 0 { return }
        if tokenizer.addPrefixSpace && base[0] != 0x20 {
            prefixed.removeAll(keepingCapacity: true)
            prefixed.append(0x20)
            prefixed.append(contentsOf: UnsafeBufferPointer(start: base, count: count))
            let copy = prefixed
            copy.withUnsafeBufferPointer { scan($0.baseAddress!, $0.count, into: &out) }
            return
        }
        scan(base, count, into: &out)
    }

    private func scan(_ base: UnsafePointer<UInt8>, _ count: Int, into out: inout [UInt32]) {
        let scanner = PreTokenScanner(base: base, count: count)
        var i = 0
        while i < count {
            let j = scanner.next(i, pattern)
            encodePiece(base + i, j - i, into: &out)
            i = j
        }
    }

    @inline(__always)
    private func encodePiece(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [UInt32]) {
        if n == 1 {
            out.append(byteIds[Int(p[0])])
            return
        }
        guard let cache else {
            encodeUncached(p, n, into: &out)
            return
        }
        let cacheable = n <= PieceCache.maxKeyLength
        var h: UInt64 = 0
        if cacheable {
            h = PieceCache.hash(p, n)
            if cache.lookup(p, n, hash: h, into: &out) { return }
        }
        if tokenizer.ignoreMerges, let id = tokenizer.modelIdsByBytes[Array(UnsafeBufferPointer(start: p, count: n))] {
            out.append(id)
            if cacheable { cache.insert(p, n, hash: h, ids: [id]) }
            return
        }
        scratch.removeAll(keepingCapacity: true)
        for k in 0..<n { scratch.append(byteIds[Int(p[k])]) }
        merger.merge(&scratch, ranks)
        out.append(contentsOf: scratch)
        if cacheable { cache.insert(p, n, hash: h, ids: scratch) }
    }

    private func encodeUncached(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [UInt32]) {
        if tokenizer.ignoreMerges, let id = tokenizer.modelIdsByBytes[Array(UnsafeBufferPointer(start: p, count: n))] {
            out.append(id)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        for k in 0..<n { scratch.append(byteIds[Int(p[k])]) }
        merger.merge(&scratch, ranks)
        out.append(contentsOf: scratch)
    }
}
