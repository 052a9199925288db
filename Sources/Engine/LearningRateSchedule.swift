import Foundation

/// Linear warm-up to `peak`, then cosine or linear decay to `floor` at `totalSteps` (constant after).
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Decay: String, Codable, Sendable { case cosine, linear, constant }

    public var peak: Float
    public var floor: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: Decay

    public init(peak: Float, floor: Float = 0, warmupSteps: Int = 0, totalSteps: Int, decay: Decay = .cosine) {
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    public func validate() throws(EngineError) {
        guard peak > 0 else { throw .invalidConfig(field: "schedule.peak", value: "\(peak)", expected: "> 0") }
        guard floor >= 0 && floor <= peak else {
            throw .invalidConfig(field: "schedule.floor", value: "\(floor)", expected: "0 ... peak (\(peak))")
        }
        guard warmupSteps >= 0 else {
            throw .invalidConfig(field: "schedule.warmupSteps", value: "\(warmupSteps)", expected: ">= 0")
        }
        guard totalSteps >= 1 else {
            throw .invalidConfig(field: "schedule.totalSteps", value: "\(totalSteps)", expected: ">= 1")
        }
    }

    /// Learning rate of the update with 0-based index `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        switch decay {
        case .constant:
            return peak
        case .linear:
            return peak - (peak - floor) * Float(progress)
        case .cosine:
            return floor + (peak - floor) * Float(0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
