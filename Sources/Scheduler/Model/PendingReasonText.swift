// Human-readable rendering of pending causes, e.g.
// "needs 4 workers with gpu-h100 >= 8 in one rack; 2 free match; queue research is over its share (41% vs 30%)".
import ClusterModel
import Foundation

public enum PendingReasonText {
    public static func render(_ causes: [PendingCause]) -> String {
        causes.map(render).joined(separator: "; ")
    }

    public static func render(_ cause: PendingCause) -> String {
        switch cause {
        case .backoff(let until):
            return "retrying after backoff at t=\(number(until))"
        case .unknownQueue(let name):
            return "queue \(name) does not exist"
        case .quotaExceeded(let queue, let resource, let used, let requested, let quota):
            return
                "queue \(queue) would exceed its quota of \(amount(quota, resource)) \(resource) (\(amount(used, resource)) used + \(amount(requested, resource)) requested)"
        case .neverFits(let perTask, let selector, let needed, let packBy, let could):
            let unit = packBy.map { " in one \($0)" } ?? ""
            return "needs \(needs(needed, perTask, selector, packBy)); "
                + (could == 0
                    ? "no alive worker could ever match"
                    : "only \(could) alive worker\(could == 1 ? "" : "s") could ever match\(unit)")
        case .insufficientCapacity(let s):
            var text =
                "needs \(needs(s.workersNeeded, s.perTask, s.nodeSelector, s.packBy)); \(s.freeMatching) free match"
            if s.heldByReservations > 0 { text += " (\(s.heldByReservations) more held for other waiting jobs)" }
            return text
        case .waitingForPreemptedTasks(let count, let ends):
            return
                "preempted \(count) task\(count == 1 ? "" : "s") to make room; waiting for \(count == 1 ? "it" : "them") to checkpoint (grace period ends at t=\(number(ends)))"
        case .holdingReservation(let workers):
            return "holding \(workers) worker\(workers == 1 ? "" : "s") while running work there finishes"
        case .queueOverShare(let queue, let share, let fair):
            return "queue \(queue) is over its share (\(percent(share)) vs \(percent(fair)))"
        case .tokenQuotaExceeded(let queue, let consumed, let quota):
            return
                "queue \(queue) has used its quota of \(quota) training tokens per day (\(consumed) consumed today); new train work waits for the next day"
        case .notDecontaminated(let gaps):
            return DecontaminationText.render(gaps)
        }
    }

    /// "4 workers with gpu-h100 >= 8, cpu >= 16 and pool=h100 in one rack" / "1 worker with cpu >= 2".
    static func needs(_ count: Int, _ perTask: Resources, _ selector: Labels, _ packBy: String?) -> String {
        var text = "\(count) worker\(count == 1 ? "" : "s")"
        var wants: [String] = perTask.accelerators.sorted { $0.key < $1.key }.map { "\($0.key) >= \($0.value)" }
        if perTask.cpuMillis > 0 { wants.append("cpu >= \(cpu(perTask.cpuMillis))") }
        if perTask.memoryBytes > 0 { wants.append("memory >= \(memory(perTask.memoryBytes))") }
        let labels = selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        if !wants.isEmpty { text += " with " + wants.joined(separator: ", ") }
        if !labels.isEmpty { text += (wants.isEmpty ? " labelled " : " and ") + labels.joined(separator: ", ") }
        if let packBy { text += " in one \(packBy)" }
        return text
    }

    static func amount(_ value: Int64, _ resource: String) -> String {
        switch resource {
        case "cpu": return cpu(value)
        case "memory": return memory(value)
        default: return String(value)
        }
    }

    static func cpu(_ millis: Int64) -> String {
        millis % 1000 == 0 ? String(millis / 1000) : number(Double(millis) / 1000)
    }

    static func memory(_ bytes: Int64) -> String {
        let gib: Int64 = 1 << 30
        let mib: Int64 = 1 << 20
        if bytes % gib == 0 { return "\(bytes / gib)Gi" }
        if bytes % mib == 0 { return "\(bytes / mib)Mi" }
        return "\(bytes)B"
    }

    static func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
