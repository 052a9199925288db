// `type: train` with `replicas: N`: DiLoCo (Douillard et al., 2023). Each round k, every gang member
//   1. holds the global weights of round k (fp32 master weights + outer momentum, in memory),
//   2. runs H inner AdamW steps on its own part of the stream (rank r of N of the one global order, at the
//      global position of round k, so a replacement reads exactly the data its predecessor would have); its
//      AdamW state stays local across rounds, the schedule continues at step k·H,
//   3. publishes its pseudo-gradient global − local, compressed with error feedback, as
//      `delta-<k>-rank-<r>.bin` in the job's training exchange (sign by default: 0.14 bytes a parameter),
//   4. agrees with the others on which deltas make round k: once all N are present — or, unless `waitForAll`,
//      `roundTimeoutSeconds` after its own delta with at least one present — any member publishes
//      `round-<k>.members` (their ranks) exclusively; the first writer wins,
//   5. reads the listed deltas and applies the outer step (mean, SGD with Nesterov momentum) itself.
// Every member computes the same bits (the same deltas, averaged in rank order, the same fp32 outer step), so
// neither weights nor outer momentum travel each round: a member downloads the N − 1 other deltas only. The
// member that decided a round writes `global-<k>.safetensors` (weights + outer momentum) every
// `globalEvery` rounds and at the end, and registers it as a checkpoint artifact every `checkpointEvery`
// steps and at the end. A replacement (or a member that fell behind) loads the newest global and replays the
// member lists and deltas kept since, so it joins the round in progress. The exchange (`TrainingExchange`) is
// the control plane's (bytes in the artifact store, names in PostgreSQL; waiting is a long-poll) or a shared
// directory (`diloco/` of `train.sharedDirectory`: temporary + rename/link, polled every 5 ms). Entries appear
// only complete; weights never go into database rows.
//
// Why these defaults (sign deltas, H = 4, outer lr 1, momentum 0) and not the paper's (bf16, H = 50, 0.7,
// Nesterov 0.9): on the sample pipeline's data (batch 8 x 64 tokens a member, 1,500 steps) the paper's
// setting ends 23% above one worker with batch 16 on the same tokens and held-out samples; the gap grows
// with H (+0.7% at H = 1 with fp32 deltas, +11% at H = 50, 500 steps) and the outer momentum adds to it. Sign
// deltas with error feedback make H = 4 cost fewer bytes (114x fewer than fp32 gradients) than bf16 at H = 50
// (100x) and end +3.4% (seed 7) and +4.8% (seed 8) above it. Numbers and the commands: docs/training.md
// ("Why these defaults"), DiLoCoBench.

import APITypes
import Checksum
import DataShards
import Engine
import Foundation

struct DiLoCoTraining {
    let task: TaskAssignment
    let plan: TrainingPlan
    let exchange: any TrainingExchange
    let context: ExecutionContext
    let threads: Int

    static let velocityTensor = "outer.velocity"
    static let defaultInnerSteps = 4
    static let defaultTransfer = PseudoGradientFormat.sign
    static let defaultOuterLearningRate = 1.0
    static let defaultOuterMomentum = 0.0
    /// Rounds between two global files at most (also when checkpoints are rarer): a joiner replays at most this
    /// many rounds of deltas, and no more are kept on disk.
    static let maxRoundsBetweenGlobals = 32
    /// The longest one wait for the exchange to change lasts: stop and preemption requests, the round timeout and
    /// a member falling behind are looked at between waits (a wait returns at once when an entry lands).
    static let maxWaitSeconds = 2.0

    var innerSteps: Int { max(1, plan.settings.diloco?.innerSteps ?? Self.defaultInnerSteps) }
    var rounds: Int { max(1, (plan.totalSteps + innerSteps - 1) / innerSteps) }
    var transfer: PseudoGradientFormat {
        plan.settings.diloco?.transfer.flatMap(PseudoGradientFormat.init(rawValue:)) ?? Self.defaultTransfer
    }
    var timeoutSeconds: Double { plan.settings.diloco?.roundTimeoutSeconds ?? 300 }
    var waitForAll: Bool { plan.settings.diloco?.waitForAll ?? false }
    /// Rounds between checkpoint artifacts (`checkpointEvery` steps; at the end only by default).
    var checkpointEvery: Int { max(1, (plan.settings.checkpointEvery ?? plan.totalSteps) / innerSteps) }
    var globalEvery: Int { min(checkpointEvery, Self.maxRoundsBetweenGlobals) }
    var outerLearningRate: Float { Float(plan.settings.diloco?.outerLearningRate ?? Self.defaultOuterLearningRate) }
    var outerMomentum: Float { Float(plan.settings.diloco?.outerMomentum ?? Self.defaultOuterMomentum) }
    /// Validation rows per batch: the gang's batch N·B, so a gang and one worker with batch N·B are measured
    /// on the same held-out samples (with B rows the gang saw half of them: issue 22).
    var evalBatch: Int { plan.batchSize * plan.worldSize }
    /// Samples of the one global order the whole gang consumes per inner step.
    var samplesPerStep: Int64 { Int64(plan.accumulation) * Int64(plan.worldSize) * Int64(plan.batchSize) }

    static func globalName(_ round: Int) -> String { String(format: "global-%06d.safetensors", round) }
    static func deltaName(_ round: Int, rank: Int) -> String { String(format: "delta-%06d-rank-%03d.bin", round, rank) }
    static func membersName(_ round: Int) -> String { String(format: "round-%06d.members", round) }

    /// What a member holds between rounds: the global weights and outer momentum of `round`.
    final class GlobalState {
        var round: Int
        var weights: [Float]
        let outer: OuterNesterovSGD
        init(round: Int, weights: [Float], outer: OuterNesterovSGD) {
            self.round = round
            self.weights = weights
            self.outer = outer
        }
    }

    /// Bytes and rounds of one member, for its result.
    struct Counters {
        var sent: Int64 = 0, received: Int64 = 0, checkpoint: Int64 = 0
        var stepsTrained = 0, roundsContributed = 0, roundsDecided = 0
    }

    /// What one member works with from its start to its end.
    private struct Member {
        let dir: any TrainingExchange
        let model: GPTModel
        let trainer: Trainer
        let encoder: PseudoGradientEncoder
        let state: GlobalState
        /// Held-out batches of `evalBatch` rows (nil without `eval`).
        let heldOut: [[Int32]]?
    }

    /// Where a member is in its part of the stream and in its step reports, across rounds.
    private struct InnerProgress {
        var stream: TokenStream?
        /// The global sample the open stream continues at: a round that starts elsewhere reopens it.
        var nextStreamPosition: Int64 = -1
        var window = ThroughputWindow()
        var lastLoss = Double.nan
        /// The member that decided the last round reports the final `val_loss` metric (the others only their result).
        var decidedLastRound = false
    }

    func run() throws -> TaskResult {
        let member = try prepare()
        var counters = Counters()
        let joinedAt = try join(member, counters: &counters)
        context.log(
            "DiLoCo rank \(plan.rank)/\(plan.worldSize): \(rounds) rounds of \(innerSteps) inner steps, outer lr \(outerLearningRate) momentum \(outerMomentum), transfer \(transfer.rawValue)",
            stream: .system)
        var progress = InnerProgress()
        while member.state.round < rounds {
            try runRound(member, progress: &progress, counters: &counters)
        }
        try awaitFinalGlobal(member, counters: &counters)
        return try finalResult(member, progress: progress, counters: counters, joinedAt: joinedAt)
    }

    /// The model, trainer, outer optimizer and compressor of this member, holding round 0's weights.
    private func prepare() throws -> Member {
        let dir = exchange
        let model = try GPTModel(config: plan.config, seed: plan.seed, threads: threads)
        let trainer = try Trainer(model: model, optimizer: plan.optimizer, schedule: plan.schedule)
        let outer = try OuterNesterovSGD(
            parameterCount: model.parameterCount, learningRate: outerLearningRate, momentum: outerMomentum)
        let encoder = PseudoGradientEncoder(format: transfer, parameterCount: model.parameterCount)
        let heldOut = try plan.evaluationBatches(rows: evalBatch)
        // Round 0: the seeded (or initFrom) weights; every member computes them itself.
        try CheckpointLocation.loadInitFrom(into: model, plan: plan, context: context)
        let state = GlobalState(round: 0, weights: model.parameterVector(), outer: outer)
        return Member(dir: dir, model: model, trainer: trainer, encoder: encoder, state: state, heldOut: heldOut)
    }

    /// Continues from the newest global weights (a replacement, or a retried member), else publishes round 0's;
    /// then replays the rounds decided since. Returns the round it joined at, nil at the start.
    private func join(_ member: Member, counters: inout Counters) throws -> Int? {
        if let newest = try newestGlobal(member.dir), newest > 0 {
            try load(newest, into: member, counters: &counters)
        } else {
            try publishGlobal(member, round: 0, members: [], counters: &counters)
        }
        try catchUp(member, counters: &counters)
        let joinedAt = member.state.round > 0 ? member.state.round : nil
        if let joinedAt { context.log("rank \(plan.rank) joins at round \(joinedAt)", stream: .system) }
        return joinedAt
    }

    /// One round, steps 1.-5. of the header; a member whose round's files are gone reloads a newer global instead.
    private func runRound(_ member: Member, progress: inout InnerProgress, counters: inout Counters) throws {
        try stopIfAsked()
        let round = member.state.round
        try trainInnerSteps(round, member, progress: &progress, counters: &counters)
        let mine = try publishDelta(round, member, counters: &counters)
        let decided = try agreeOnMembers(round, dir: member.dir)
        // 5. the outer step, computed by every member alike
        let members: [Int]
        do {
            members = try apply(round, to: member.state, own: mine, dir: member.dir, counters: &counters)
        } catch is Missing {
            if let mine { try member.encoder.restore(mine) }
            try reloadNewest(after: round, into: member, counters: &counters)
            try catchUp(member, counters: &counters)
            return
        }
        if let mine {
            if members.contains(plan.rank) { counters.roundsContributed += 1 } else { try member.encoder.restore(mine) }
        }
        if decided {
            counters.roundsDecided += 1
            progress.decidedLastRound = member.state.round == rounds
            try finishDecidedRound(member, members: members, counters: &counters)
        }
        let done = member.state.round
        if done % max(1, rounds / 20) == 0 || done == rounds {
            context.log(
                "rank \(plan.rank) round \(done)/\(rounds) loss \(format(progress.lastLoss)) sent \(counters.sent) received \(counters.received) bytes"
            )
        }
        // A member that fell behind (slow, or its rounds completed without it) catches up without training.
        try catchUp(member, counters: &counters)
    }

    /// 1.-2. H inner steps from the global weights at this round's place in the global order.
    private func trainInnerSteps(
        _ round: Int, _ member: Member, progress: inout InnerProgress, counters: inout Counters
    ) throws {
        let H = innerSteps
        try member.model.setParameterVector(member.state.weights)
        member.trainer.step = round * H
        let firstSample = Int64(round) * Int64(H) * samplesPerStep
        if progress.stream == nil || progress.nextStreamPosition != firstSample {
            progress.stream = try openStream(atGlobalSample: firstSample)
        }
        let steps = min(H, plan.totalSteps - round * H)
        for _ in 0..<steps {
            try stopIfAsked()
            let batches = try progress.stream!.nextStep(microbatches: plan.accumulation)
            let result = try member.trainer.trainStep(microbatches: batches.batches, batchSize: plan.batchSize)
            context.reportBatchChecksum(of: batches.batches, step: member.trainer.step)
            progress.lastLoss = Double(result.loss)
            progress.window.add(tokens: result.tokens)
            if member.trainer.step % plan.logEverySteps == 0 {
                report(result, round: round, step: member.trainer.step, bytesSent: counters.sent, progress: &progress)
            }
        }
        counters.stepsTrained += steps
        progress.nextStreamPosition = firstSample + Int64(steps) * samplesPerStep
    }

    private func report(
        _ result: TrainStepResult, round: Int, step: Int, bytesSent: Int64, progress: inout InnerProgress
    ) {
        let total = plan.totalSteps
        context.reportStepMetrics(result, step: step, tokensPerSecond: progress.window.tokensPerSecond)
        context.metric("bytes_sent", step: Int64(step), value: Double(bytesSent))
        context.progress(
            Double(step) / Double(total),
            message: "round \(round + 1)/\(rounds) step \(step)/\(total) loss \(format(progress.lastLoss))",
            step: Int64(step), totalSteps: Int64(total))
        progress.window.restart()
    }

    /// 3. Publishes this member's pseudo-gradient, compressed; what the compression dropped goes with the next
    /// round. Returns the delta as sent, nil when a predecessor of this rank had already sent this round's.
    private func publishDelta(_ round: Int, _ member: Member, counters: inout Counters) throws -> [Float]? {
        let wire = try member.encoder.encode(
            try DiLoCo.pseudoGradient(global: member.state.weights, local: member.model.parameterVector()))
        guard try member.dir.publish(wire.bytes, as: Self.deltaName(round, rank: plan.rank), exclusive: true) else {
            // A predecessor of this rank already sent round k's delta: that one counts, this one waits.
            try member.encoder.restore(wire.sent)
            return nil
        }
        counters.sent += Int64(wire.bytes.count)
        return wire.sent
    }

    /// 4. Waits for the round's member list (whoever gets there first publishes it: once all N deltas are present,
    /// or after the timeout with one). True when this member's list is the one.
    private func agreeOnMembers(_ round: Int, dir: any TrainingExchange) throws -> Bool {
        let N = plan.worldSize
        let deltaWritten = Date()
        while true {
            try stopIfAsked()
            let names = Set(try dir.names(prefix: ""))
            if names.contains(Self.membersName(round)) { return false }
            // Far behind: the others went on and this round's entries are pruned (a newer global exists).
            if let newest = newestGlobal(in: names), newest > round { return false }
            let present = (0..<N).filter { names.contains(Self.deltaName(round, rank: $0)) }
            let waitedSeconds = Date().timeIntervalSince(deltaWritten)
            let timedOut = !waitForAll && waitedSeconds >= timeoutSeconds && !present.isEmpty
            if present.count == N || timedOut {
                let decided = try dir.publish(
                    Data(present.map(String.init).joined(separator: ",").utf8), as: Self.membersName(round),
                    exclusive: true)
                if decided && present.count < N {
                    context.log(
                        "round \(round + 1) completed without ranks \(Set(0..<N).subtracting(present).sorted()) after \(Int(timeoutSeconds)) s",
                        stream: .stderr)
                }
                return decided
            }
            // Woken by the next entry (a delta, the member list); at the latest when the round may time out.
            let untilTimeout = waitForAll || present.isEmpty ? Self.maxWaitSeconds : timeoutSeconds - waitedSeconds
            try dir.waitForChange(timeoutSeconds: min(Self.maxWaitSeconds, max(0.001, untilTimeout)))
        }
    }

    /// The member that decided a round evaluates the new global weights when an evaluation falls due in it and
    /// writes them every `globalEvery` rounds and at the end.
    private func finishDecidedRound(_ member: Member, members: [Int], counters: inout Counters) throws {
        let round = member.state.round
        let H = innerSteps
        let evalEvery = plan.evalEverySteps
        let step = round * H
        if let heldOut = member.heldOut, round < rounds, step / evalEvery > (step - H) / evalEvery {
            try member.model.setParameterVector(member.state.weights)
            let loss = try meanLoss(model: member.model, batches: heldOut, batchSize: evalBatch)
            context.metric("val_loss", step: Int64(step), value: loss)
            context.log("round \(round)/\(rounds) step \(step) val_loss \(format(loss)) (members \(members))")
        }
        if round % globalEvery == 0 || round == rounds {
            try publishGlobal(member, round: round, members: members, counters: &counters)
        }
    }

    /// The final global weights: the member that decided the last round writes them; the others wait for it
    /// (every member holds the same weights, so after the timeout any of them writes the file).
    private func awaitFinalGlobal(_ member: Member, counters: inout Counters) throws {
        let finalName = Self.globalName(rounds)
        let waitStart = Date()
        let waitSeconds = min(timeoutSeconds, 60)
        while try !member.dir.exists(finalName) {
            let remaining = waitSeconds - Date().timeIntervalSince(waitStart)
            guard remaining > 0 else { break }
            try stopIfAsked()
            try member.dir.waitForChange(timeoutSeconds: min(Self.maxWaitSeconds, remaining))
        }
        if try !member.dir.exists(finalName) {
            try publishGlobal(member, round: rounds, members: [], counters: &counters)
        }
    }

    /// The result of this member, with the held-out loss of the final global weights.
    private func finalResult(_ member: Member, progress: InnerProgress, counters: Counters, joinedAt: Int?) throws
        -> TaskResult
    {
        try member.model.setParameterVector(member.state.weights)
        let parameterBytes = Int64(plan.config.parameterCount * 4)
        var result: [String: AnyJSON] = [
            "rank": .int(Int64(plan.rank)), "rounds": .int(Int64(rounds)), "innerSteps": .int(Int64(innerSteps)),
            "transfer": .string(transfer.rawValue),
            "roundsContributed": .int(Int64(counters.roundsContributed)),
            "roundsPublished": .int(Int64(counters.roundsDecided)),
            "bytesSent": .int(counters.sent), "bytesReceived": .int(counters.received),
            "checkpointBytes": .int(counters.checkpoint),
            // what exchanging an fp32 gradient every inner step would have sent from (and delivered to) this member
            "gradientExchangeBytes": .int(Int64(counters.stepsTrained) * parameterBytes),
            "steps": .int(Int64(plan.totalSteps)),
            "finalGlobal": .string(try member.dir.location(of: Self.globalName(rounds)) ?? ""),
            // the member's own copy of the final weights: every member computes the same bits
            "finalWeightsSHA256": .string(SHA256.hex(of: member.state.weights.withUnsafeBytes { Data($0) })),
        ]
        if let joinedAt { result["joinedAtRound"] = .int(Int64(joinedAt)) }
        if progress.lastLoss.isFinite { result["finalLoss"] = .double(progress.lastLoss) }
        if let heldOut = member.heldOut {
            let loss = try meanLoss(model: member.model, batches: heldOut, batchSize: evalBatch)
            result["valLoss"] = .double(loss)
            if progress.decidedLastRound { context.metric("val_loss", step: Int64(plan.totalSteps), value: loss) }
        }
        context.progress(
            1, message: "done: \(rounds) rounds", step: Int64(plan.totalSteps), totalSteps: Int64(plan.totalSteps))
        return TaskResult(result: .object(result))
    }

    private func stopIfAsked() throws {
        try context.checkCancellation()
        if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
    }

    // MARK: Rounds

    /// Writes `global-<round>` unless it exists (the first complete file wins); registers it as a checkpoint
    /// artifact at checkpoint rounds and at the end. Prunes rounds nobody can need any more.
    private func publishGlobal(_ member: Member, round: Int, members: [Int], counters: inout Counters) throws {
        let dir = member.dir
        let model = member.model
        let velocity = member.state.outer.velocity
        let name = Self.globalName(round)
        guard try !dir.exists(name) else { return }
        try model.setParameterVector(member.state.weights)
        let temporary = dir.scratchFile(for: name)
        defer { try? FileManager.default.removeItem(at: temporary) }
        try model.save(
            to: temporary.path, step: round * innerSteps, weightsAs: .float32,
            metadata: [
                "job": task.jobName, "diloco_round": String(round),
                "diloco_members": members.map(String.init).joined(separator: ","),
            ],
            extraTensors: [NamedTensor(name: Self.velocityTensor, shape: [velocity.count], values: velocity)])
        let bytes = fileSize(temporary)
        // A checkpoint round's global is stored once, as the artifact and as the exchange's entry; it is registered
        // only when this member's copy won.
        var record: ArtifactRecord?
        if round > 0 && (round % checkpointEvery == 0 || round == rounds) {
            record = try context.artifactStore.store(
                file: temporary, name: "checkpoint-round-\(round)", kind: "checkpoint",
                metadata: [
                    "step": .int(Int64(round * innerSteps)), "round": .int(Int64(round)),
                    "config": plan.modelSettingsJSON,
                ])
        }
        guard try dir.publish(file: temporary, as: name, exclusive: true, stored: record) else { return }
        counters.checkpoint += bytes
        guard round > 0 else { return }
        if let record {
            context.registerStoredArtifact(record)
            context.log("checkpoint round \(round) sha256 \(record.sha256.prefix(12))", stream: .system)
        }
        try prune(dir)
    }

    /// Reads round `round`'s member list and their deltas (own: this member's, not read back) and applies the
    /// outer step to `state`. Throws `Missing` when a file was pruned (the member is too far behind).
    @discardableResult
    private func apply(
        _ round: Int, to state: GlobalState, own: [Float]?, dir: any TrainingExchange, counters: inout Counters
    ) throws -> [Int] {
        guard let list = try dir.read(Self.membersName(round)) else { throw Missing() }
        let members = String(decoding: list, as: UTF8.self).split(separator: ",").compactMap { Int($0) }.sorted()
        guard !members.isEmpty else {
            throw TaskFailure("round \(round): empty member list \(Self.membersName(round)) in \(dir)")
        }
        var deltas: [[Float]] = []
        var read: Int64 = 0
        for member in members {
            if member == plan.rank, let own {
                deltas.append(own)
                continue
            }
            guard let data = try dir.read(Self.deltaName(round, rank: member)) else { throw Missing() }
            read += Int64(data.count)
            do { deltas.append(try DiLoCo.decode(data, count: state.weights.count, as: transfer)) } catch {
                throw TaskFailure("cannot decode the pseudo-gradient of rank \(member) round \(round): \(error)")
            }
        }
        try state.outer.step(global: &state.weights, pseudoGradient: try DiLoCo.average(deltas))
        state.round = round + 1
        counters.received += read
        return members
    }

    private struct Missing: Error {}

    /// Applies the rounds already decided without this member (it joined late or fell behind); reloads the
    /// newest global when their files are gone.
    private func catchUp(_ member: Member, counters: inout Counters) throws {
        let state = member.state
        let dir = member.dir
        while try state.round < rounds && dir.exists(Self.membersName(state.round)) {
            do { try apply(state.round, to: state, own: nil, dir: dir, counters: &counters) } catch is Missing {
                try reloadNewest(after: state.round, into: member, counters: &counters)
            }
        }
    }

    private func reloadNewest(after round: Int, into member: Member, counters: inout Counters) throws {
        guard let newest = try newestGlobal(member.dir), newest > round else {
            throw TaskFailure("round \(round): its entries are gone and no newer global weights exist in \(member.dir)")
        }
        context.log(
            "rank \(plan.rank) fell behind at round \(round); continues from the global weights of round \(newest)",
            stream: .system)
        try load(newest, into: member, counters: &counters)
    }

    private func load(_ round: Int, into member: Member, counters: inout Counters) throws {
        let state = member.state
        let model = member.model
        guard let url = try member.dir.localFile(Self.globalName(round)) else {
            throw TaskFailure(
                "the global weights of round \(round) are gone from \(member.dir); the attempt is retried")
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(path: url.path) } catch {
            throw TaskFailure("cannot read the global weights of round \(round) at \(url.path): \(error)")
        }
        try model.load(from: checkpoint)
        try state.outer.setVelocity(try checkpoint.tensor(named: Self.velocityTensor))
        state.weights = model.parameterVector()
        state.round = round
        counters.received += fileSize(url)
    }

    private func fileSize(_ url: URL) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.int64Value ?? 0
    }

    private func roundNumbers(_ names: some Sequence<String>) -> [(name: String, round: Int)] {
        names.compactMap { name in
            for prefix in ["global-", "delta-", "round-"] where name.hasPrefix(prefix) {
                if let round = Int(name.dropFirst(prefix.count).prefix(6)) { return (name, round) }
            }
            return nil
        }
    }

    private func newestGlobal(in names: some Sequence<String>) -> Int? {
        roundNumbers(names).filter { $0.name.hasPrefix("global-") && $0.name.hasSuffix(".safetensors") }.map(\.round)
            .max()
    }

    private func newestGlobal(_ dir: any TrainingExchange) throws -> Int? {
        newestGlobal(in: try dir.names(prefix: "global-"))
    }

    /// Keeps the two newest globals and every round since the older of them: a member behind by up to
    /// `globalEvery` rounds replays them, one further behind reloads a global.
    private func prune(_ dir: any TrainingExchange) throws {
        let entries = roundNumbers(try dir.names(prefix: ""))
        let globals = entries.filter { $0.name.hasPrefix("global-") && $0.name.hasSuffix(".safetensors") }.map(\.round)
            .sorted()
        guard globals.count > 2 else { return }
        let keepFrom = globals[globals.count - 2]
        // Best effort: an entry left behind is pruned with the next global, and a reader copes with either.
        for entry in entries where entry.round < keepFrom { try? dir.remove(entry.name) }
    }

    /// This rank's stream, positioned at global sample `first` of the one global order.
    private func openStream(atGlobalSample first: Int64) throws -> TokenStream {
        let probe = try plan.trainingStream()
        guard first > 0 else { return probe }
        let perEpoch = probe.samplesPerEpoch
        return try plan.trainingStream(resumingFrom: StreamState(epoch: first / perEpoch, position: first % perEpoch))
    }
}
