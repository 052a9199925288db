// A metric's history in one line of block characters (`▇▆▅▄▃▃▂▁`), for `get metrics --sparkline` and
// `describe job`: each character is the mean of its share of the points, scaled from the lowest (▁) to the
// highest (█) mean shown.

enum Sparkline {
    /// The eight heights, lowest first.
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    /// How many characters a sparkline has at most when the caller does not say (fits an 80-column line with a
    /// name and the summary numbers beside it).
    static let defaultWidth = 40

    /// At most `width` characters: one per value when they fit, else the means of `width` equal runs of values.
    /// Non-finite values are left out; a flat series is drawn at mid height; no values, no characters.
    static func render(_ values: [Double], width: Int = defaultWidth) -> String {
        precondition(width > 0, "a sparkline needs at least one character, got width \(width)")
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return "" }
        let means = buckets(finite, count: min(width, finite.count))
        let low = means.min()!
        let high = means.max()!
        guard high > low else { return String(repeating: levels[levels.count / 2 - 1], count: means.count) }
        let top = Double(levels.count - 1)
        return String(means.map { levels[Int(((($0 - low) / (high - low)) * top).rounded())] })
    }

    /// The means of `count` consecutive runs of `values`, as equal in length as integer division allows.
    static func buckets(_ values: [Double], count: Int) -> [Double] {
        precondition(count > 0 && count <= values.count, "bucket count \(count) outside 1...\(values.count)")
        return (0..<count).map { bucket in
            let start = bucket * values.count / count
            let end = (bucket + 1) * values.count / count
            return values[start..<end].reduce(0, +) / Double(end - start)
        }
    }
}
