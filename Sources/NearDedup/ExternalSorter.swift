// Sorts any number of bucket records in at most `memoryLimitBytes` of accounted memory: records collect in a buffer
// of half the limit (Swift's sort, a merge sort, needs a scratch of up to the same size: the other half); a full
// buffer is sorted and spilled to disk as a run. At the end the runs are merged k ways through a heap, each run read
// through a buffer sized so that all buffers and the heap fit the limit; with more runs than fit (each reader keeps
// at least `minimumReaderRecords`), groups of runs are merged into longer runs first. A corpus of any size costs a
// reducer the limit, plus disk (16 bytes per record) — the way out of datatrove#222, where the bucket stage holds
// everything in memory.
//
// Accounted bytes are the sort buffer (counted twice: its scratch), the read buffers and the heap: the allocations
// that grow with the input. `peakAccountedBytes` ≤ `memoryLimitBytes` always (asserted in `account`).

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum ExternalSortError: Error, CustomStringConvertible, Equatable {
    case memoryLimitTooSmall(limitBytes: Int, minimumBytes: Int)

    public var description: String {
        switch self {
        case .memoryLimitTooSmall(let limit, let minimum):
            return "memoryLimitBytes: expected at least \(minimum) bytes, got \(limit)"
        }
    }
}

public final class ExternalSorter {
    public let memoryLimitBytes: Int
    public let directory: String
    /// The smallest limit: a sort buffer of 256 records and a merge of two runs through 64-record buffers.
    public static let minimumMemoryLimitBytes = 16 << 10
    static let minimumReaderRecords = 64
    static let heapEntryBytes = MemoryLayout<(BucketRecord, Int)>.stride
    static let allocationSlackBytes = 4096
    /// The output buffer of an intermediate merge pass.
    static let passWriterBytes = 4096

    private var buffer: [BucketRecord] = []
    private let bufferCapacity: Int
    private var runs: [String] = []
    private var nextRunNumber = 0
    public private(set) var records = 0
    public private(set) var spilledRuns = 0
    public private(set) var mergePasses = 0
    public private(set) var peakAccountedBytes = 0

    /// `directory` holds the runs (created if missing; the runs are removed as they are merged and on deinit).
    public init(memoryLimitBytes: Int, directory: String) throws {
        guard memoryLimitBytes >= Self.minimumMemoryLimitBytes else {
            throw ExternalSortError.memoryLimitTooSmall(
                limitBytes: memoryLimitBytes, minimumBytes: Self.minimumMemoryLimitBytes)
        }
        self.memoryLimitBytes = memoryLimitBytes
        self.directory = directory
        // The allocator may round a request up (to a page for large blocks): keep a page of slack under each half.
        bufferCapacity = (memoryLimitBytes / 2 - Self.allocationSlackBytes) / MemoryLayout<BucketRecord>.stride
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { for run in runs { unlink(run) } }

    private func account(_ bytes: Int) {
        precondition(bytes <= memoryLimitBytes, "external sort accounted \(bytes) bytes over its \(memoryLimitBytes)")
        peakAccountedBytes = max(peakAccountedBytes, bytes)
    }

    public func append(_ record: BucketRecord) throws {
        if buffer.count == bufferCapacity { try spill() }
        if buffer.count == buffer.capacity && buffer.capacity < bufferCapacity {
            // Grown by hand so that doubling never allocates past the capacity the limit allows.
            buffer.reserveCapacity(min(bufferCapacity, max(256, buffer.capacity * 2)))
        }
        buffer.append(record)
        records += 1
        account(buffer.capacity * MemoryLayout<BucketRecord>.stride * 2)
    }

    private func newRunPath() -> String {
        nextRunNumber += 1
        return directory + "/run-\(nextRunNumber).records"
    }

    private func spill() throws {
        guard !buffer.isEmpty else { return }
        buffer.sort()
        let path = newRunPath()
        let writer = try RecordFileWriter(path: path)
        for record in buffer { try writer.append(record.key, record.document) }
        try writer.finish()
        runs.append(path)
        spilledRuns += 1
        buffer.removeAll(keepingCapacity: true)
    }

    /// Every record appended, in order, through `body`. With no spill the buffer is sorted in place; otherwise
    /// it is spilled too and the runs are merged. The sorter is empty afterwards.
    public func drain(_ body: (BucketRecord) throws -> Void) throws {
        if runs.isEmpty {
            buffer.sort()
            for record in buffer { try body(record) }
            buffer = []
            return
        }
        try spill()
        buffer = [] // The sort buffer's memory goes back before the merge's buffers take it.
        let fanIn = max(
            2,
            (memoryLimitBytes - Self.passWriterBytes)
                / (Self.minimumReaderRecords * BucketRecord.encodedBytes + Self.heapEntryBytes))
        while runs.count > fanIn {
            // Merge the oldest runs into one; each pass shortens the list by fanIn - 1.
            let group = Array(runs.prefix(fanIn))
            runs.removeFirst(fanIn)
            let path = newRunPath()
            let writer = try RecordFileWriter(path: path, bufferBytes: Self.passWriterBytes)
            try merge(group, writerBytes: Self.passWriterBytes) { record in
                try writer.append(record.key, record.document)
            }
            try writer.finish()
            for run in group { unlink(run) }
            runs.append(path)
            mergePasses += 1
        }
        let last = runs
        runs = []
        defer { for run in last { unlink(run) } }
        mergePasses += 1
        try merge(last, writerBytes: 0, body)
    }

    /// k-way merge of sorted runs through a binary heap of (record, run) pairs.
    private func merge(_ paths: [String], writerBytes: Int, _ body: (BucketRecord) throws -> Void) throws {
        // The writer of an intermediate pass has its own buffer: left out of the readers' share.
        let budget = max(0, memoryLimitBytes - paths.count * Self.heapEntryBytes - writerBytes)
        let recordsPerReader = max(
            Self.minimumReaderRecords, budget / (paths.count * BucketRecord.encodedBytes))
        var readers: [RecordFileReader] = []
        for path in paths { readers.append(try RecordFileReader(path: path, bufferRecords: recordsPerReader)) }
        account(readers.reduce(0) { $0 + $1.bufferBytes } + paths.count * Self.heapEntryBytes + writerBytes)
        var heap = RecordHeap()
        for (run, reader) in readers.enumerated() {
            if let (key, document) = try reader.next() { heap.push(BucketRecord(key: key, document: document), run) }
        }
        while let (record, run) = heap.pop() {
            try body(record)
            if let (key, document) = try readers[run].next() {
                heap.push(BucketRecord(key: key, document: document), run)
            }
        }
    }
}

/// A min-heap of (record, run) by record then run: the merge's one structure, k entries.
struct RecordHeap {
    private var items: [(BucketRecord, Int)] = []

    private static func less(_ a: (BucketRecord, Int), _ b: (BucketRecord, Int)) -> Bool {
        a.0 != b.0 ? a.0 < b.0 : a.1 < b.1
    }

    mutating func push(_ record: BucketRecord, _ run: Int) {
        items.append((record, run))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (BucketRecord, Int)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && Self.less(items[left], items[smallest]) { smallest = left }
                if right < items.count && Self.less(items[right], items[smallest]) { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
