/// All activations and activation gradients of one forward/backward pass at a given batch shape, carved
/// out of one allocation. Reallocated only when the batch shape changes.
final class ActivationArena {
    struct Layer {
        var input = 0, ln1 = 0, ln1Mean = 0, ln1Rstd = 0, qkv = 0, attention = 0, probs = 0
        var residual = 0, ln2 = 0, ln2Mean = 0, ln2Rstd = 0, fc = 0, fcGelu = 0
    }

    let batch: Int
    let length: Int
    let storage: UnsafeMutablePointer<Float>
    let count: Int
    private(set) var layers: [Layer] = []
    private(set) var output = 0 // residual stream after the last block [B, T, C]
    private(set) var lnf = 0, lnfMean = 0, lnfRstd = 0
    private(set) var logits = 0 // [B, T, V]
    private(set) var losses = 0 // [B, T]
    // Gradient scratch, reused by every layer.
    private(set) var dResidual = 0, dNorm = 0, dAttention = 0, dQKV = 0, dFC = 0, dProbs = 0
    let targets: UnsafeMutablePointer<Int32>
    let inputs: UnsafeMutablePointer<Int32>

    init(config: GPTConfig, batch B: Int, length T: Int, training: Bool) {
        batch = B
        length = T
        let C = config.width
        let F = config.mlpWidth
        let H = config.heads
        let V = config.vocabularySize
        let rows = B * T
        var cursor = 0
        func take(_ n: Int) -> Int {
            defer { cursor += n }
            return cursor
        }
        for _ in 0..<config.layers {
            var l = Layer()
            l.input = take(rows * C)
            l.ln1 = take(rows * C)
            l.ln1Mean = take(rows)
            l.ln1Rstd = take(rows)
            l.qkv = take(rows * 3 * C)
            l.attention = take(rows * C)
            l.probs = take(B * H * T * T)
            l.residual = take(rows * C)
            l.ln2 = take(rows * C)
            l.ln2Mean = take(rows)
            l.ln2Rstd = take(rows)
            l.fc = take(rows * F)
            l.fcGelu = take(rows * F)
            layers.append(l)
        }
        output = take(rows * C)
        lnf = take(rows * C)
        lnfMean = take(rows)
        lnfRstd = take(rows)
        logits = take(rows * V)
        losses = take(rows)
        if training {
            dResidual = take(rows * C)
            dNorm = take(rows * C)
            dAttention = take(rows * C)
            dQKV = take(rows * 3 * C)
            dFC = take(rows * F)
            dProbs = take(B * H * T * T)
        }
        count = cursor
        storage = .allocate(capacity: cursor)
        storage.initialize(repeating: 0, count: cursor)
        targets = .allocate(capacity: rows)
        targets.initialize(repeating: 0, count: rows)
        inputs = .allocate(capacity: rows)
        inputs.initialize(repeating: 0, count: rows)
        isTraining = training
    }

    let isTraining: Bool

    @inline(__always) func at(_ offset: Int) -> UnsafeMutablePointer<Float> { storage + offset }

    deinit {
        storage.deallocate()
        targets.deallocate()
        inputs.deallocate()
    }
}
