/// An element of a `BinaryHeap`: `before` is a strict total order; the heap's top is the element that comes first.
protocol HeapOrdered {
    func before(_ other: Self) -> Bool
}

/// An array-backed binary heap, O(log n) push and pop: the trainer's queue of pairs to merge and the encoder's
/// merge order for long pieces. Generic but specialized by the optimizer within the module, so no dynamic calls.
struct BinaryHeap<Element: HeapOrdered> {
    private var items: [Element] = []

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if !items[i].before(items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let last = items.popLast() else { return nil }
        if items.isEmpty { return last }
        let top = items[0]
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < n && items[l].before(items[m]) { m = l }
            if r < n && items[r].before(items[m]) { m = r }
            if m == i { break }
            items.swapAt(m, i)
            i = m
        }
        return top
    }
}

/// Smaller first: `BinaryHeap<UInt64>` is a min-heap.
extension UInt64: HeapOrdered {
    @inline(__always) func before(_ other: UInt64) -> Bool { self < other }
}
