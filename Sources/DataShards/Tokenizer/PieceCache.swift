#if canImport(Glibc)
    import Glibc
#endif

/// A bounded cache of pre-token bytes -> token ids, owned by one `TokenEncoder` (one thread). Fixed-size
/// arenas; when one fills up the whole cache is cleared (cheap, and frequent words come back at once).
final class PieceCache {
    static let maxKeyLength = 64
    private let slotCount = 1 << 17
    /// At most half the slots are used, so probes stay short.
    private let maxEntries = 1 << 16
    private let keyCapacity = 4 << 20
    private let valueCapacity = 1 << 20

    private let slots: UnsafeMutablePointer<Int32>
    private let entryHash: UnsafeMutablePointer<UInt64>
    private let entryKeyStart: UnsafeMutablePointer<Int32>
    private let entryKeyLength: UnsafeMutablePointer<Int32>
    private let entryValueStart: UnsafeMutablePointer<Int32>
    private let entryValueLength: UnsafeMutablePointer<Int32>
    private let keys: UnsafeMutablePointer<UInt8>
    private let values: UnsafeMutablePointer<UInt32>
    private var entries = 0, keyUsed = 0, valueUsed = 0

    init() {
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: -1, count: slotCount)
        entryHash = .allocate(capacity: maxEntries)
        entryKeyStart = .allocate(capacity: maxEntries)
        entryKeyLength = .allocate(capacity: maxEntries)
        entryValueStart = .allocate(capacity: maxEntries)
        entryValueLength = .allocate(capacity: maxEntries)
        keys = .allocate(capacity: keyCapacity)
        values = .allocate(capacity: valueCapacity)
    }

    deinit {
        slots.deallocate()
        entryHash.deallocate()
        entryKeyStart.deallocate()
        entryKeyLength.deallocate()
        entryValueStart.deallocate()
        entryValueLength.deallocate()
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(n)
        var i = 0
        while i + 8 <= n {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            h = (h ^ w) &* 0x100_0000_01b3
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(p[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 32)
    }

    /// Appends the cached ids for the piece to `out`; false on a miss.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, into out: inout [UInt32]) -> Bool {
        var s = Int(truncatingIfNeeded: h) & (slotCount - 1)
        while true {
            let e = Int(slots[s])
            if e < 0 { return false }
            if entryHash[e] == h && Int(entryKeyLength[e]) == n && memcmp(keys + Int(entryKeyStart[e]), p, n) == 0 {
                let start = Int(entryValueStart[e])
                let len = Int(entryValueLength[e])
                out.append(contentsOf: UnsafeBufferPointer(start: values + start, count: len))
                return true
            }
            s = (s + 1) & (slotCount - 1)
        }
    }

    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, ids: [UInt32]) {
        if entries >= maxEntries || keyUsed + n > keyCapacity || valueUsed + ids.count > valueCapacity {
            slots.update(repeating: -1, count: slotCount)
            entries = 0
            keyUsed = 0
            valueUsed = 0
        }
        var s = Int(truncatingIfNeeded: h) & (slotCount - 1)
        while slots[s] >= 0 { s = (s + 1) & (slotCount - 1) }
        let e = entries
        entries += 1
        slots[s] = Int32(e)
        entryHash[e] = h
        entryKeyStart[e] = Int32(keyUsed)
        entryKeyLength[e] = Int32(n)
        (keys + keyUsed).update(from: p, count: n)
        keyUsed += n
        entryValueStart[e] = Int32(valueUsed)
        entryValueLength[e] = Int32(ids.count)
        ids.withUnsafeBufferPointer { (values + valueUsed).update(from: $0.baseAddress!, count: ids.count) }
        valueUsed += ids.count
    }
}
