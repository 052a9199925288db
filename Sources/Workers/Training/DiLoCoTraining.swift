// `type: train` with `replicas: N`: DiLoCo (Douillard et al., 2023). Each round k, every gang member
//   1. holds the global weights of round k (fp32 master weights + outer momentum, in memory),
//   2. runs H inner AdamW steps on its own part of the stream (rank r of N of the one global order, at the
//      global position of round k, so a replacement reads exactly the data its predecessor would have); its
//      AdamW state stays local across rounds, the schedule continues at step k·H,
//   3. publishes its pseudo-gradient global − local, compressed with error feedback, as
//      `diloco/delta-<k>-rank-<r>.bin` (sign by default: 0.14 bytes a parameter),
//   4. agrees with the others on which deltas make round k: once all N are present — or, unless `waitForAll`,
//      `roundTimeoutSeconds` after its own delta with at least one present — any member publishes
//      `round-<k>.members` (their ranks) with link(2); the first complete file wins,
//   5. reads the listed deltas and applies the outer step (mean, SGD with Nesterov momentum) itself.
// Every member computes the same bits (the same deltas, averaged in rank order, the same fp32 outer step), so
// neither weights nor outer momentum travel each round: a member downloads the N − 1 other deltas only. The
// member that decided a round writes `global-<k>.safetensors` (weights + outer momentum) every
// `globalEvery` rounds and at the end, and registers it as a checkpoint artifact every `checkpointEvery`
// steps and at the end. A replacement (or a member that fell behind) loads the newest global and replays the
// member lists and deltas kept since, so it joins the round in progress. Files appear only complete
// (temporary + rename/link); weights never go into database rows.
//
// Why these defaults (sign deltas, H = 4, outer lr 1, momentum 0) and not the paper's (bf16, H = 50, 0.7,
// Nesterov 0.9): on the sample pipeline's data (batch 8 x 64 tokens a member, 1,500 steps) the paper's
// setting ends 23% above one worker with batch 16 on the same tokens and held-out samples; the gap grows
// with H (+0.7% at H = 1 with fp32 deltas, +11% at H = 50, 500 steps) and the outer momentum adds to it. Sign
// deltas with error feedback make H = 4 cost fewer bytes (114x fewer than fp32 gradients) than bf16 at H = 50
// (100x) and end +3.4% (seed 7) and +4.8% (seed 8) above it. Numbers and the commands: docs/training.md
// ("Why these defaults"), DiLoCoBench.

import APITypes
import DataShards
import Engine
import Foundation

struct DiLoCoTraining {
    let task: TaskAssignment
    let plan: TrainingPlan
    let directory: TrainingDirectory
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

    var innerSteps: Int { max(1, plan.settings.diloco?.innerSteps ?? Self.defaultInnerSteps) }
    var rounds: Int { max(1, (plan.totalSteps + innerSteps - 1) / innerSteps) }
    var transfer: PseudoGradientFormat { plan.settings.diloco?.transfer.flatMap(PseudoGradientFormat.init(rawValue:)) ?? Self.defaultTransfer }
    var timeoutSeconds: Double { plan.settings.diloco?.roundTimeoutSeconds ?? 300 }
    var waitForAll: Bool { plan.settings.diloco?.waitForAll ?? false }
    /// Rounds between checkpoint artifacts (`checkpointEvery` steps; at the end only by default).
    var checkpointEvery: Int { max(1, (plan.settings.checkpointEvery ?? plan.totalSteps) / innerSteps) }
    var globalEvery: Int { min(checkpointEvery, Self.maxRoundsBetweenGlobals) }

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

    func run() throws -> TaskResult {
        let H = innerSteps, N = plan.worldSize, rank = plan.rank, rounds = self.rounds
        let dir = try TrainingDirectory(url: directory.url.appendingPathComponent("diloco"))
        let model = try GPTModel(config: plan.config, seed: plan.seed, threads: threads)
        let trainer = try Trainer(model: model, optimizer: plan.optimizer, schedule: plan.schedule)
        let outerRate = Float(plan.settings.diloco?.outerLearningRate ?? Self.defaultOuterLearningRate)
        let outerMomentum = Float(plan.settings.diloco?.outerMomentum ?? Self.defaultOuterMomentum)
        let outer = try OuterNesterovSGD(parameterCount: model.parameterCount, learningRate: outerRate, momentum: outerMomentum)
        let encoder = PseudoGradientEncoder(format: transfer, parameterCount: model.parameterCount)
        // Validation rows per batch: the gang's batch N·B, so a gang and one worker with batch N·B are measured
        // on the same held-out samples (with B rows the gang saw half of them: issue 22).
        let evalBatch = plan.batchSize * N
        let heldOut = try plan.evaluationStream(batchSize: evalBatch).map { try heldOutBatches($0, count: plan.settings.eval?.batches ?? 8) }
        let evalEvery = max(1, plan.settings.eval?.every ?? max(1, plan.totalSteps / 10))
        let logEvery = max(1, plan.settings.logEvery ?? 10)
        let parameterBytes = Int64(plan.config.parameterCount * 4)
        var counters = Counters()

        try initializeWeights(model)
        let state = GlobalState(round: 0, weights: model.parameterVector(), outer: outer)
        if let newest = newestGlobal(dir), newest > 0 {
            try load(newest, into: state, model: model, dir: dir, counters: &counters)
        } else {
            try publishGlobal(model: model, weights: state.weights, velocity: outer.velocity, round: 0, members: [], dir: dir, counters: &counters)
        }
        try catchUp(state, dir: dir, model: model, counters: &counters)
        let joinedAt = state.round > 0 ? state.round : nil
        if let joinedAt { context.log("rank \(rank) joins at round \(joinedAt)", stream: .system) }
        context.log("DiLoCo rank \(rank)/\(N): \(rounds) rounds of \(H) inner steps, outer lr \(outerRate) momentum \(outerMomentum), transfer \(transfer.rawValue)",
                    stream: .system)

        var lastLoss = Double.nan
        var stream: TokenStream?
        var nextStreamPosition: Int64 = -1
        var windowStart = Date(), windowTokens = 0
        var decidedLast = false
        while state.round < rounds {
            try stopIfAsked()
            let round = state.round
            // 1.-2. H inner steps from the global weights at this round's place in the global order
            try model.setParameterVector(state.weights)
            trainer.step = round * H
            let firstSample = Int64(round) * Int64(H) * Int64(plan.accumulation) * Int64(N) * Int64(plan.batchSize)
            if stream == nil || nextStreamPosition != firstSample { stream = try openStream(atGlobalSample: firstSample) }
            let steps = min(H, plan.totalSteps - round * H)
            for _ in 0..<steps {
                try stopIfAsked()
                let batches = try stream!.nextStep(microbatches: plan.accumulation)
                let result = try trainer.trainStep(microbatches: batches.batches, batchSize: plan.batchSize)
                lastLoss = Double(result.loss)
                windowTokens += result.tokens
                if trainer.step % logEvery == 0 {
                    let rate = Double(windowTokens) / max(1e-9, Date().timeIntervalSince(windowStart))
                    context.metric("loss", step: Int64(trainer.step), value: lastLoss)
                    context.metric("lr", step: Int64(trainer.step), value: Double(result.learningRate))
                    context.metric("grad_norm", step: Int64(trainer.step), value: Double(result.gradientNorm))
                    context.metric("tokens_per_second", step: Int64(trainer.step), value: rate)
                    context.metric("bytes_sent", step: Int64(trainer.step), value: Double(counters.sent))
                    context.progress(Double(trainer.step) / Double(plan.totalSteps),
                                     message: "round \(round + 1)/\(rounds) step \(trainer.step)/\(plan.totalSteps) loss \(format(lastLoss))",
                                     step: Int64(trainer.step), totalSteps: Int64(plan.totalSteps))
                    windowStart = Date(); windowTokens = 0
                }
            }
            counters.stepsTrained += steps
            nextStreamPosition = firstSample + Int64(steps) * Int64(plan.accumulation) * Int64(N) * Int64(plan.batchSize)
            // 3. the pseudo-gradient, compressed; what the compression dropped goes with the next round
            let wire = try encoder.encode(try DiLoCo.pseudoGradient(global: state.weights, local: model.parameterVector()))
            var mine: [Float]? = wire.sent
            if try dir.publish(wire.bytes, as: Self.deltaName(round, rank: rank), exclusive: true) {
                counters.sent += Int64(wire.bytes.count)
            } else {
                // A predecessor of this rank already sent round k's delta: that one counts, this one waits.
                try encoder.restore(wire.sent)
                mine = nil
            }
            // 4. agree on the members of the round (whoever gets there first)
            let deltaWritten = Date()
            var decided = false, polls = 0
            while !dir.exists(Self.membersName(round)) {
                try stopIfAsked()
                // Far behind: the others went on and this round's files are pruned (a newer global exists).
                polls += 1
                if polls % 200 == 0, let newest = newestGlobal(dir), newest > round { break }
                let present = (0..<N).filter { dir.exists(Self.deltaName(round, rank: $0)) }
                let timedOut = !waitForAll && Date().timeIntervalSince(deltaWritten) >= timeoutSeconds && !present.isEmpty
                if present.count == N || timedOut {
                    decided = try dir.publish(Data(present.map(String.init).joined(separator: ",").utf8), as: Self.membersName(round), exclusive: true)
                    if decided && present.count < N {
                        context.log("round \(round + 1) completed without ranks \(Set(0..<N).subtracting(present).sorted()) after \(Int(timeoutSeconds)) s", stream: .stderr)
                    }
                    break
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
            // 5. the outer step, computed by every member alike
            let members: [Int]
            do { members = try apply(round, to: state, own: mine, dir: dir, counters: &counters) } catch is Missing {
                if let mine { try encoder.restore(mine) }
                try reloadNewest(after: round, into: state, model: model, dir: dir, counters: &counters)
                try catchUp(state, dir: dir, model: model, counters: &counters)
                continue
            }
            if let mine {
                if members.contains(rank) { counters.roundsContributed += 1 } else { try encoder.restore(mine) }
            }
            if decided {
                counters.roundsDecided += 1
                decidedLast = state.round == rounds
                let step = state.round * H
                if let heldOut, state.round < rounds, step / evalEvery > (step - H) / evalEvery {
                    try model.setParameterVector(state.weights)
                    let loss = try meanLoss(model: model, batches: heldOut, batchSize: evalBatch)
                    context.metric("val_loss", step: Int64(step), value: loss)
                    context.log("round \(state.round)/\(rounds) step \(step) val_loss \(format(loss)) (members \(members))")
                }
                if state.round % globalEvery == 0 || state.round == rounds {
                    try publishGlobal(model: model, weights: state.weights, velocity: outer.velocity, round: state.round, members: members,
                                      dir: dir, counters: &counters)
                }
            }
            if state.round % max(1, rounds / 20) == 0 || state.round == rounds {
                context.log("rank \(rank) round \(state.round)/\(rounds) loss \(format(lastLoss)) sent \(counters.sent) received \(counters.received) bytes")
            }
            // A member that fell behind (slow, or its rounds completed without it) catches up without training.
            try catchUp(state, dir: dir, model: model, counters: &counters)
        }
        // The final global weights: the member that decided the last round writes them; the others wait for it
        // (every member holds the same weights, so after the timeout any of them writes the file).
        let finalName = Self.globalName(rounds)
        let waitStart = Date()
        while !dir.exists(finalName) && Date().timeIntervalSince(waitStart) < min(timeoutSeconds, 60) {
            try stopIfAsked()
            Thread.sleep(forTimeInterval: 0.005)
        }
        if !dir.exists(finalName) {
            try publishGlobal(model: model, weights: state.weights, velocity: outer.velocity, round: rounds, members: [], dir: dir, counters: &counters)
        }
        try model.setParameterVector(state.weights)
        var result: [String: AnyJSON] = [
            "rank": .int(Int64(rank)), "rounds": .int(Int64(rounds)), "innerSteps": .int(Int64(H)), "transfer": .string(transfer.rawValue),
            "roundsContributed": .int(Int64(counters.roundsContributed)), "roundsPublished": .int(Int64(counters.roundsDecided)),
            "bytesSent": .int(counters.sent), "bytesReceived": .int(counters.received), "checkpointBytes": .int(counters.checkpoint),
            // what exchanging an fp32 gradient every inner step would have sent from (and delivered to) this member
            "gradientExchangeBytes": .int(Int64(counters.stepsTrained) * parameterBytes),
            "steps": .int(Int64(plan.totalSteps)),
            "finalGlobal": .string(dir.file(finalName).path),
        ]
        if let joinedAt { result["joinedAtRound"] = .int(Int64(joinedAt)) }
        if lastLoss.isFinite { result["finalLoss"] = .double(lastLoss) }
        if let heldOut {
            let loss = try meanLoss(model: model, batches: heldOut, batchSize: evalBatch)
            result["valLoss"] = .double(loss)
            if decidedLast { context.metric("val_loss", step: Int64(plan.totalSteps), value: loss) }
        }
        context.progress(1, message: "done: \(rounds) rounds", step: Int64(plan.totalSteps), totalSteps: Int64(plan.totalSteps))
        return TaskResult(result: .object(result))
    }

    private func stopIfAsked() throws {
        try context.checkCancellation()
        if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
    }

    // MARK: Rounds

    /// Round 0: the seeded (or initFrom) weights; every member computes them itself.
    private func initializeWeights(_ model: GPTModel) throws {
        guard let reference = plan.settings.initFrom else { return }
        let checkpoint = try CheckpointLocation.open(reference, field: "spec.train.initFrom", context: context, sharedDirectory: plan.settings.sharedDirectory)
        guard checkpoint.config == plan.config else {
            throw specFailure("spec.train.initFrom: \(reference.displayName) has model config \(checkpoint.config), the spec asks for \(plan.config)")
        }
        try model.load(from: checkpoint)
    }

    /// Writes `global-<round>` unless it exists (the first complete file wins); registers it as a checkpoint
    /// artifact at checkpoint rounds and at the end. Prunes rounds nobody can need any more.
    private func publishGlobal(model: GPTModel, weights: [Float], velocity: [Float], round: Int, members: [Int],
                               dir: TrainingDirectory, counters: inout Counters) throws {
        let name = Self.globalName(round)
        guard !dir.exists(name) else { return }
        try model.setParameterVector(weights)
        let temporary = dir.file(".global-\(round)-\(UUID().uuidString).tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try model.save(to: temporary.path, step: round * innerSteps, weightsAs: .float32,
                       metadata: ["job": task.jobName, "diloco_round": String(round), "diloco_members": members.map(String.init).joined(separator: ",")],
                       extraTensors: [NamedTensor(name: Self.velocityTensor, shape: [velocity.count], values: velocity)])
        let bytes = fileSize(temporary)
        guard try dir.place(temporary, as: name, exclusive: true) else { return }
        counters.checkpoint += bytes
        guard round > 0 else { return }
        if round % checkpointEvery == 0 || round == rounds {
            let record = try context.registerArtifact(file: dir.file(name), name: "checkpoint-round-\(round)", kind: "checkpoint",
                                                      metadata: ["step": .int(Int64(round * innerSteps)), "round": .int(Int64(round)),
                                                                 "config": (try? AnyJSON(encoding: TrainModelSettings(plan.config))) ?? .null])
            context.log("checkpoint round \(round) sha256 \(record.sha256.prefix(12))", stream: .system)
        }
        prune(dir)
    }

    /// Reads round `round`'s member list and their deltas (own: this member's, not read back) and applies the
    /// outer step to `state`. Throws `Missing` when a file was pruned (the member is too far behind).
    @discardableResult
    private func apply(_ round: Int, to state: GlobalState, own: [Float]?, dir: TrainingDirectory, counters: inout Counters) throws -> [Int] {
        guard let list = try? Data(contentsOf: dir.file(Self.membersName(round))) else { throw Missing() }
        let members = String(decoding: list, as: UTF8.self).split(separator: ",").compactMap { Int($0) }.sorted()
        guard !members.isEmpty else { throw TaskFailure("round \(round): empty member list \(dir.file(Self.membersName(round)).path)") }
        var deltas: [[Float]] = []
        var read: Int64 = 0
        for member in members {
            if member == plan.rank, let own { deltas.append(own); continue }
            guard let data = try? Data(contentsOf: dir.file(Self.deltaName(round, rank: member))) else { throw Missing() }
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
    private func catchUp(_ state: GlobalState, dir: TrainingDirectory, model: GPTModel, counters: inout Counters) throws {
        while state.round < rounds && dir.exists(Self.membersName(state.round)) {
            do { try apply(state.round, to: state, own: nil, dir: dir, counters: &counters) } catch is Missing {
                try reloadNewest(after: state.round, into: state, model: model, dir: dir, counters: &counters)
            }
        }
    }

    private func reloadNewest(after round: Int, into state: GlobalState, model: GPTModel, dir: TrainingDirectory, counters: inout Counters) throws {
        guard let newest = newestGlobal(dir), newest > round else {
            throw TaskFailure("round \(round): its files are gone and no newer global weights exist in \(dir.url.path)")
        }
        context.log("rank \(plan.rank) fell behind at round \(round); continues from the global weights of round \(newest)", stream: .system)
        try load(newest, into: state, model: model, dir: dir, counters: &counters)
    }

    private func load(_ round: Int, into state: GlobalState, model: GPTModel, dir: TrainingDirectory, counters: inout Counters) throws {
        let url = dir.file(Self.globalName(round))
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

    private func roundNumbers(_ dir: TrainingDirectory) -> [(name: String, round: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []
        return names.compactMap { name in
            for prefix in ["global-", "delta-", "round-"] where name.hasPrefix(prefix) {
                if let round = Int(name.dropFirst(prefix.count).prefix(6)) { return (name, round) }
            }
            return nil
        }
    }

    private func newestGlobal(_ dir: TrainingDirectory) -> Int? {
        roundNumbers(dir).filter { $0.name.hasPrefix("global-") && $0.name.hasSuffix(".safetensors") }.map(\.round).max()
    }

    /// Keeps the two newest globals and every round since the older of them: a member behind by up to
    /// `globalEvery` rounds replays them, one further behind reloads a global.
    private func prune(_ dir: TrainingDirectory) {
        let entries = roundNumbers(dir)
        let globals = entries.filter { $0.name.hasPrefix("global-") && $0.name.hasSuffix(".safetensors") }.map(\.round).sorted()
        guard globals.count > 2 else { return }
        let keepFrom = globals[globals.count - 2]
        for entry in entries where entry.round < keepFrom { try? FileManager.default.removeItem(at: dir.file(entry.name)) }
    }

    /// This rank's stream, positioned at global sample `first` of the one global order.
    private func openStream(atGlobalSample first: Int64) throws -> TokenStream {
        let probe = try plan.trainingStream()
        guard first > 0 else { return probe }
        let perEpoch = probe.samplesPerEpoch
        return try plan.trainingStream(resumingFrom: StreamState(epoch: first / perEpoch, position: first % perEpoch))
    }
}
