/// A fixed pseudo-random order of input files, seeded by their paths (FNV-1a of the names seeds a Fisher–Yates
/// shuffle with a 64-bit LCG), so a sample of the first documents spreads over the inputs and is the same on
/// every machine. The tokenizer-training job samples its files in this order (and DiLoCoBench rebuilds its data so).
public enum FileSampleOrder {
    public static func shuffled(_ files: [String]) -> [String] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in files.joined(separator: "\n").utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var order = files
        guard order.count > 1 else { return order }
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let j = Int((state >> 33) % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }
}
