// `[██████░░░░░░░░]  42%`: the bar `apply --wait` and `logs -f` draw on a terminal (Output/JobProgress.swift says
// what the fraction is). Whole cells only, so the bar never shows more done than is done.

enum ProgressBar {
    /// Cells of the bar `apply --wait` and `logs -f` draw: 20 cells are 5 % each.
    static let defaultWidth = 20

    /// `fraction` is clamped to 0...1 (a NaN counts as 0); cells and percent are rounded down.
    static func render(fraction: Double, width: Int = defaultWidth) -> String {
        precondition(width > 0, "a progress bar needs at least one cell, got width \(width)")
        let clamped = fraction.isNaN ? 0 : min(1, max(0, fraction))
        let filled = Int((clamped * Double(width)).rounded(.down))
        let percent = Int((clamped * 100).rounded(.down))
        let label = String(percent) + "%"
        return "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "] "
            + String(repeating: " ", count: 4 - label.count) + label
    }
}
