// The flush loop: takes batches from the `ReportQueue`, sends them and performs what
// `WorkerDaemonStateMachine+Reports.swift` decides for each answer.

import APIClient
import APITypes
import ClusterModel
import Foundation

extension WorkerDaemon {
    func flushLoop() async {
        while !machine.isFinished {
            await flushNow.wait(timeoutSeconds: machine.flushWaitSeconds(jitterUnit: Double.random(in: 0..<1)))
            machine.flushEnded(delivered: await flushQueued())
        }
    }

    /// Sends queued batches until the queue is empty or a send fails. Returns false when delivery failed and
    /// the batch was put back. Internal so tests can drive it.
    @discardableResult
    func flushQueued() async -> Bool {
        guard let workerID = machine.workerID else { return true }
        while let batch = reports.takeBatch(workerID: workerID, maxBytes: machine.batchByteBudget) {
            guard await deliver(batch) else { return false }
        }
        return true
    }

    /// Sends one batch, cutting it in parts where the state machine says so. Returns false when delivery must
    /// wait; what was not delivered is back in front of the queue, in order.
    private func deliver(_ batch: ReportBatch) async -> Bool {
        var parts = [batch] // a stack: the next part to send is last
        while let part = parts.popLast() {
            // A part that ends attempts asks for the next work in the same exchange (`ReportBatch.next`). Slots it
            // freed and did not fill are the poll loop's (`finish` left it asleep), so it is woken then, and only
            // then: woken after a full claim, it would race the report of a task that ends at once for the slot.
            var sent = part
            var slotsLeftToThePoller = !part.completions.isEmpty || !part.failures.isEmpty
            defer { if slotsLeftToThePoller { capacityFreed.signal() } }
            if slotsLeftToThePoller, let claim = machine.claimWithReport() {
                machine.claimSent(claim)
                sent.next = claim
            }
            do {
                let response = try await api.report(sent)
                if let claim = sent.next {
                    machine.claimEnded(claim)
                    let assignments = response.assignments ?? []
                    slotsLeftToThePoller = assignments.count < claim.maxTasks
                    startAnswered(assignments)
                }
                let step = machine.reportAccepted(staleAttempts: response.staleAttempts)
                _ = await perform(step, part: part, error: nil, unsent: &parts)
            } catch {
                if let claim = sent.next { machine.claimEnded(claim) }
                if let delivered = await perform(
                    machine.reportRefused(part, error), part: part, error: error, unsent: &parts)
                {
                    return delivered
                }
            }
        }
        return true
    }

    /// Does one delivery step for `part` (refused with `error`, if it was). Returns whether the flush delivered
    /// (true) or must wait (false) when the step ends the flush, nil when the next part is to be sent.
    private func perform(
        _ step: WorkerDaemonStateMachine.DeliveryStep, part: ReportBatch, error: ControlPlaneError?,
        unsent parts: inout [ReportBatch]
    ) async -> Bool? {
        let why = error.map { "\($0)" } ?? ""
        // Latest first: each part goes in front of those put back before it.
        func putBackUnsent() { (parts + [part]).forEach(reports.putBack) }
        switch step {
        case .acknowledge(let stale, let signals), .dropStale(let stale, let signals):
            reports.acknowledge(part, staleAttempts: stale)
            signals.forEach(perform)
        case .split:
            let halves = part.halves()
            parts += [halves.second, halves.first]
        case .quarantine(let replacement):
            reports.acknowledge(part, staleAttempts: [])
            log("quarantined \(part.itemSummary): the control plane refuses it (\(error?.message ?? ""))")
            if let replacement { reports.enqueue(replacement) }
        case .reregister:
            putBackUnsent()
            await handleUnknownWorker()
            return false
        case .retryLater:
            putBackUnsent()
            log("delivering \(part.itemCount) report(s) failed: \(why); keeping them to resend")
            return false
        case .shrinkBatches(let batchBytes):
            putBackUnsent()
            log(
                "the control plane refused \(part.itemCount) report(s) as too large (HTTP 413); sending batches of at most \(batchBytes) bytes"
            )
            return true
        case .dropTooLarge(let replacement):
            parts.forEach(reports.putBack)
            reports.acknowledge(part, staleAttempts: [])
            if let replacement { reports.enqueue(replacement) }
            if part.completions.isEmpty && part.failures.isEmpty {
                log("dropped one report item the control plane refuses as too large (HTTP 413)")
            }
            return true
        case .dropRefused:
            // The control plane will never accept this batch (a bug on one side): say so and move on.
            log("the control plane refused \(part.itemCount) report(s) for good: \(why)")
            reports.acknowledge(part, staleAttempts: [])
        }
        return nil
    }
}
