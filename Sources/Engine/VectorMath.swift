/// Fast exp and tanh for the softmax, cross-entropy and GELU loops (libm's expf/tanhf were ~15% of a
/// training step). Written as branch-free scalar code over contiguous buffers so that LLVM vectorizes the
/// loops (generic Swift SIMD conversions are not specialized well). Cephes-style exp: range reduction by
/// ln 2 and a degree-6 polynomial, within ~2 ulp; inputs are clamped to [-87, 88].
enum VectorMath {
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let c = Swift.min(Swift.max(x, -87), 88)
        // n = round(x / ln 2) by adding 1.5 * 2^23: n then sits in the low mantissa bits of `shifted`.
        let shifted = c * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = c - n * 0.693_359_375 + n * 2.121_944_4e-4
        var y: Float = 1.987_569_15e-4
        y = y * r + 1.398_199_95e-3
        y = y * r + 8.333_451_9e-3
        y = y * r + 4.166_579_59e-2
        y = y * r + 1.666_666_55e-1
        y = y * r + 5.000_000_12e-1
        y = y * r * r + r + 1
        let exponent = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return y * Float(bitPattern: exponent)
    }

    @inline(__always)
    static func tanh(_ x: Float) -> Float {
        // 1 - 2 / (exp(2x) + 1) saturates cleanly to +-1 at both ends.
        1 - 2 / (exp(2 * x) + 1)
    }

    /// Maximum of `count` values (8 independent lanes, then combined).
    static func maximum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var m0 = -Float.infinity
        var m1 = m0
        var m2 = m0
        var m3 = m0
        var m4 = m0
        var m5 = m0
        var m6 = m0
        var m7 = m0
        var i = 0
        while i + 8 <= count {
            m0 = Swift.max(m0, p[i])
            m1 = Swift.max(m1, p[i + 1])
            m2 = Swift.max(m2, p[i + 2])
            m3 = Swift.max(m3, p[i + 3])
            m4 = Swift.max(m4, p[i + 4])
            m5 = Swift.max(m5, p[i + 5])
            m6 = Swift.max(m6, p[i + 6])
            m7 = Swift.max(m7, p[i + 7])
            i += 8
        }
        while i < count {
            m0 = Swift.max(m0, p[i])
            i += 1
        }
        return Swift.max(
            Swift.max(Swift.max(m0, m1), Swift.max(m2, m3)), Swift.max(Swift.max(m4, m5), Swift.max(m6, m7)))
    }

    /// Sum of `count` values in a fixed order (8 lanes), so results are deterministic.
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var s0: Float = 0
        var s1: Float = 0
        var s2: Float = 0
        var s3: Float = 0
        var s4: Float = 0
        var s5: Float = 0
        var s6: Float = 0
        var s7: Float = 0
        var i = 0
        while i + 8 <= count {
            s0 += p[i]
            s1 += p[i + 1]
            s2 += p[i + 2]
            s3 += p[i + 3]
            s4 += p[i + 4]
            s5 += p[i + 5]
            s6 += p[i + 6]
            s7 += p[i + 7]
            i += 8
        }
        while i < count {
            s0 += p[i]
            i += 1
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    /// p[i] = exp(p[i] - shift) in place; returns the sum.
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, _ count: Int, shift: Float) -> Float {
        for i in 0..<count { p[i] = exp(p[i] - shift) }
        return sum(p, count)
    }

    /// Sum of exp(p[i] - shift), using `scratch` (count floats) as workspace.
    static func sumOfExponentials(
        _ p: UnsafePointer<Float>, _ count: Int, shift: Float,
        scratch: UnsafeMutablePointer<Float>
    ) -> Float {
        for i in 0..<count { scratch[i] = exp(p[i] - shift) }
        return sum(scratch, count)
    }

    /// p[i] *= factor.
    static func scale(_ p: UnsafeMutablePointer<Float>, _ count: Int, by factor: Float) {
        for i in 0..<count { p[i] *= factor }
    }
}
