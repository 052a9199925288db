// Which dataset each global sample position draws from. Within an epoch of L samples, position p goes to
// the dataset with the largest deficit `weight * (p + 1) - drawn so far` (ties to the lower index) — the
// same greedy rule as Megatron's BlendedDataset — so after any prefix every dataset's share is within one
// sample of its weight. The schedule is a pure function of (weights, L): every rank computes it alone.

struct BlendSchedule: Sendable {
    let weights: [Double]
    let samplesPerEpoch: Int64
    /// Draws of each dataset in one full epoch.
    let drawsPerEpoch: [Int64]

    init(weights raw: [Double], samplesPerEpoch: Int64) {
        let total = raw.reduce(0, +)
        weights = raw.map { $0 / total }
        self.samplesPerEpoch = samplesPerEpoch
        if raw.count == 1 {
            drawsPerEpoch = [samplesPerEpoch]
        } else {
            var cursor = Cursor(weights: weights)
            for _ in 0..<samplesPerEpoch { _ = cursor.advance() }
            drawsPerEpoch = cursor.counts
        }
    }

    /// Walks the positions of one epoch in order.
    struct Cursor {
        let weights: [Double]
        private(set) var position: Int64 = 0
        private(set) var counts: [Int64]

        init(weights: [Double]) {
            self.weights = weights
            counts = Array(repeating: 0, count: weights.count)
        }

        /// The dataset and its draw number (within the epoch) at the current position; then moves on.
        @inline(__always)
        mutating func advance() -> (dataset: Int, draw: Int64) {
            var best = 0
            if weights.count > 1 {
                let next = Double(position + 1)
                var bestDeficit = -Double.infinity
                for d in 0..<weights.count {
                    let deficit = weights[d] * next - Double(counts[d])
                    if deficit > bestDeficit {
                        bestDeficit = deficit
                        best = d
                    }
                }
            }
            let draw = counts[best]
            counts[best] += 1
            position += 1
            return (best, draw)
        }
    }
}
