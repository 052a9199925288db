/// Vectorized exp and tanh for the softmax, cross-entropy and GELU loops (libm's scalar expf/tanhf were
/// ~15% of a training step). Cephes-style exp: range reduction by ln 2 and a degree-6 polynomial,
/// accurate to ~2 ulp over the range the engine uses; inputs below -87 flush to ~1e-38.
enum VectorMath {
    typealias Vector = SIMD8<Float>
    static let width = 8

    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        let clamped = x.clamped(lowerBound: Vector(repeating: -87.0), upperBound: Vector(repeating: 88.0))
        // n = round(x / ln 2) by the 1.5 * 2^23 trick (round to nearest even, no conversion needed).
        let magic = Vector(repeating: 12_582_912)
        let n = (clamped * 1.442_695_04 + magic) - magic
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
        var y = Vector(repeating: 1.987_569_15e-4)
        y = y * r + 1.398_199_95e-3
        y = y * r + 8.333_451_9e-3
        y = y * r + 4.166_579_59e-2
        y = y * r + 1.666_666_55e-1
        y = y * r + 5.000_000_12e-1
        y = y * r * r + r + 1
        let exponent = (SIMD8<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
        return y * unsafeBitCast(exponent, to: Vector.self)
    }

    @inline(__always)
    static func tanh(_ x: Vector) -> Vector {
        // tanh(x) = 1 - 2 / (exp(2x) + 1): saturates cleanly to +-1 at both ends.
        1 - 2 / (exp(2 * x) + 1)
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ count: Int, padding: Float) -> Vector {
        if count >= width { return UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
        var v = Vector(repeating: padding)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count >= width {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
        } else {
            for i in 0..<count { p[i] = v[i] }
        }
    }

    /// Maximum of `count` values.
    static func maximum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var m = Vector(repeating: -.infinity)
        var i = 0
        while i < count {
            m = pointwiseMax(m, load(p + i, count - i, padding: -.infinity))
            i += width
        }
        return m.max()
    }

    /// p[i] = exp(p[i] - shift) in place; returns the sum (in a fixed order, so deterministic).
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, _ count: Int, shift: Float) -> Float {
        var sum = Vector(repeating: 0)
        var i = 0
        while i < count {
            let n = min(width, count - i)
            var e = exp(load(p + i, n, padding: 0) - shift)
            if n < width { for j in n..<width { e[j] = 0 } }
            store(e, p + i, n)
            sum += e
            i += width
        }
        return sum.sum()
    }

    /// Sum of exp(p[i] - shift) without writing.
    static func sumOfExponentials(_ p: UnsafePointer<Float>, _ count: Int, shift: Float) -> Float {
        var sum = Vector(repeating: 0)
        var i = 0
        while i < count {
            let n = min(width, count - i)
            var e = exp(load(p + i, n, padding: 0) - shift)
            if n < width { for j in n..<width { e[j] = 0 } }
            sum += e
            i += width
        }
        return sum.sum()
    }

    /// p[i] *= factor.
    static func scale(_ p: UnsafeMutablePointer<Float>, _ count: Int, by factor: Float) {
        var i = 0
        while i < count {
            let n = min(width, count - i)
            store(load(p + i, n, padding: 0) * factor, p + i, n)
            i += width
        }
    }
}
