/// bfloat16 conversion for compact checkpoints and for weights/deltas exchanged between workers.
/// Master weights stay fp32; bf16 is storage only (round to nearest even, NaN kept quiet).
public enum BFloat16 {
    @inline(__always)
    public static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    @inline(__always)
    public static func toFloat(_ value: UInt16) -> Float {
        Float(bitPattern: UInt32(value) << 16)
    }

    public static func encode(_ values: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<UInt16>) {
        precondition(out.count >= values.count)
        for i in 0..<values.count { out[i] = fromFloat(values[i]) }
    }

    public static func decode(_ values: UnsafeBufferPointer<UInt16>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= values.count)
        for i in 0..<values.count { out[i] = toFloat(values[i]) }
    }

    public static func encode(_ values: [Float]) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: values.count) { out, n in
            values.withUnsafeBufferPointer { encode($0, into: out) }
            n = values.count
        }
    }

    public static func decode(_ values: [UInt16]) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { out, n in
            values.withUnsafeBufferPointer { decode($0, into: out) }
            n = values.count
        }
    }
}
