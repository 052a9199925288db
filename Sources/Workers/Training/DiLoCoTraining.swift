// `type: train` with `replicas: N`: DiLoCo (Douillard et al., 2023). Each round k, every gang member
//   1. takes the global weights of round k (`diloco/global-<k>.safetensors`, fp32 master + outer momentum),
//   2. runs H inner AdamW steps on its own part of the stream (rank r of N of the one global order, at the
//      global position of round k, so a replacement reads exactly the data its predecessor would have),
//   3. publishes its pseudo-gradient global − local as `diloco/delta-<k>-rank-<r>.bin` (bf16 or fp32),
//   4. waits until `global-<k+1>` exists; meanwhile, once all N deltas of round k are present — or, unless
//      `waitForAll`, `roundTimeoutSeconds` after its own delta with at least one present — it computes the
//      outer step itself (average the deltas present, SGD with Nesterov momentum) and publishes
//      `global-<k+1>` with link(2): the first complete file wins, every member loads that one.
// Every member can finish a round, so losing any member (rank 0 included) does not stop the gang. A
// replacement starts at the newest global round and so joins the round in progress, or the next one when it
// is too late. Files appear only complete (temporary + rename/link); weights never go into database rows.
// The member that publishes a global also registers it as a checkpoint artifact every `checkpointEvery`
// rounds and at the end (model + outer momentum + round; the stream position follows from the round).

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

    var innerSteps: Int { max(1, plan.settings.diloco?.innerSteps ?? 50) }
    var rounds: Int { max(1, (plan.totalSteps + innerSteps - 1) / innerSteps) }
    var transfer: TensorDType { plan.settings.diloco?.transfer == "fp32" ? .float32 : .bfloat16 }
    var timeout: Double { plan.settings.diloco?.roundTimeoutSeconds ?? 300 }
    var waitForAll: Bool { plan.settings.diloco?.waitForAll ?? false }

    static func globalName(_ round: Int) -> String { String(format: "global-%06d.safetensors", round) }
    static func deltaName(_ round: Int, rank: Int) -> String { String(format: "delta-%06d-rank-%03d.bin", round, rank) }

    func run() throws -> TaskResult {
        let rounds = self.rounds, H = innerSteps, N = plan.worldSize, rank = plan.rank
        let dir = try TrainingDirectory(url: directory.url.appendingPathComponent("diloco"))
        let model = try GPTModel(config: plan.config, seed: plan.seed, threads: threads)
        try publishInitialGlobal(model: model, dir: dir)
        let trainer = try Trainer(model: model, optimizer: plan.optimizer, schedule: plan.schedule)
        let heldOut = try plan.evaluationStream().map { try heldOutBatches($0, count: plan.settings.eval?.batches ?? 8) }
        let outerRate = Float(plan.settings.diloco?.outerLearningRate ?? 0.7)
        let outerMomentum = Float(plan.settings.diloco?.outerMomentum ?? 0.9)
        let checkpointEvery = max(1, (plan.settings.checkpointEvery ?? plan.totalSteps) / H)
        let logEvery = max(1, plan.settings.logEvery ?? 10)
        let parameterBytes = Int64(plan.config.parameterCount * 4)

        var bytesSent: Int64 = 0, bytesReceived: Int64 = 0
        var roundsContributed = 0, roundsPublished = 0
        var lastLoss = Double.nan
        var stream: TokenStream?
        var nextStreamPosition: Int64 = -1
        var round = newestGlobal(dir) ?? 0
        var joinedAt: Int?
        if round > 0 { joinedAt = round; context.log("rank \(rank) joins at round \(round)", stream: .system) }
        context.log("DiLoCo rank \(rank)/\(N): \(rounds) rounds of \(H) inner steps, outer lr \(outerRate) momentum \(outerMomentum), transfer \(transfer.rawValue)",
                    stream: .system)
        var windowStart = Date(), windowTokens = 0

        while round < rounds {
            try context.checkCancellation()
            if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
            // 1. the global weights of this round
            let global = try loadGlobal(round, into: model, dir: dir)
            bytesReceived += global.bytes
            let globalVector = model.parameterVector()
            trainer.step = round * H
            // 2. H inner steps at this round's place in the global order
            let firstSample = Int64(round) * Int64(H) * Int64(plan.accumulation) * Int64(N) * Int64(plan.batchSize)
            if stream == nil || nextStreamPosition != firstSample {
                stream = try openStream(atGlobalSample: firstSample)
            }
            let steps = min(H, plan.totalSteps - round * H)
            for _ in 0..<steps {
                try context.checkCancellation()
                if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
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
                    context.progress(Double(trainer.step) / Double(plan.totalSteps),
                                     message: "round \(round + 1)/\(rounds) step \(trainer.step)/\(plan.totalSteps) loss \(format(lastLoss))",
                                     step: Int64(trainer.step), totalSteps: Int64(plan.totalSteps))
                    windowStart = Date(); windowTokens = 0
                }
            }
            // Skip the other ranks' share of the remaining steps of an uneven last round: nothing to skip,
            // each rank's stream only yields its own block.
            nextStreamPosition = firstSample + Int64(steps) * Int64(plan.accumulation) * Int64(N) * Int64(plan.batchSize)
            // 3. the pseudo-gradient
            let delta = try DiLoCo.pseudoGradient(global: globalVector, local: model.parameterVector())
            let wire = Safetensors.encode(delta, as: transfer)
            if try dir.publish(wire, as: Self.deltaName(round, rank: rank), exclusive: true) {
                bytesSent += Int64(wire.count)
                roundsContributed += 1
                context.metric("bytes_sent", step: Int64(trainer.step), value: Double(bytesSent))
            }
            // 4. the outer step (by whichever member gets there first)
            let deltaWritten = Date()
            while !dir.exists(Self.globalName(round + 1)) {
                try context.checkCancellation()
                if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
                let present = (0..<N).filter { dir.exists(Self.deltaName(round, rank: $0)) }
                let timedOut = !waitForAll && Date().timeIntervalSince(deltaWritten) >= timeout && !present.isEmpty
                if present.count == N || timedOut {
                    if try publishOuterStep(round: round, members: present, model: model, global: globalVector,
                                            velocity: global.velocity, rate: outerRate, momentum: outerMomentum, dir: dir) {
                        roundsPublished += 1
                        if present.count < N {
                            context.log("round \(round + 1) completed without ranks \(Set(0..<N).subtracting(present).sorted()) after \(Int(timeout)) s", stream: .stderr)
                        }
                        if let heldOut {
                            let published = try loadGlobal(round + 1, into: model, dir: dir)
                            _ = published
                            let loss = try meanLoss(model: model, batches: heldOut, batchSize: plan.batchSize)
                            context.metric("val_loss", step: Int64((round + 1) * H), value: loss)
                            context.log("round \(round + 1)/\(rounds) val_loss \(format(loss)) (members \(present))")
                        }
                        if (round + 1) % checkpointEvery == 0 || round + 1 == rounds {
                            let record = try context.registerArtifact(file: dir.file(Self.globalName(round + 1)),
                                                                      name: "checkpoint-round-\(round + 1)", kind: "checkpoint",
                                                                      metadata: ["step": .int(Int64((round + 1) * H)), "round": .int(Int64(round + 1)),
                                                                                 "config": (try? AnyJSON(encoding: TrainModelSettings(plan.config))) ?? .null])
                            context.log("checkpoint round \(round + 1) sha256 \(record.sha256.prefix(12))", stream: .system)
                        }
                        pruneRounds(before: round - 1, dir: dir)
                    }
                    break
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
            context.log("rank \(rank) round \(round + 1)/\(rounds) loss \(format(lastLoss)) sent \(bytesSent) bytes")
            // A member that fell behind (it was replaced, or slow) jumps to the newest round.
            round = max(round + 1, min(newestGlobal(dir) ?? 0, rounds))
        }
        // The final global weights.
        let final = try loadGlobal(rounds, into: model, dir: dir)
        bytesReceived += final.bytes
        var result: [String: AnyJSON] = [
            "rank": .int(Int64(rank)), "rounds": .int(Int64(rounds)), "innerSteps": .int(Int64(H)),
            "roundsContributed": .int(Int64(roundsContributed)), "roundsPublished": .int(Int64(roundsPublished)),
            "bytesSent": .int(bytesSent), "bytesReceived": .int(bytesReceived),
            // what exchanging an fp32 gradient every inner step would have sent from this member
            "gradientExchangeBytes": .int(Int64(roundsContributed * H) * parameterBytes),
            "steps": .int(Int64(plan.totalSteps)),
            "finalGlobal": .string(dir.file(Self.globalName(rounds)).path),
        ]
        if let joinedAt { result["joinedAtRound"] = .int(Int64(joinedAt)) }
        if lastLoss.isFinite { result["finalLoss"] = .double(lastLoss) }
        if let heldOut {
            let loss = try meanLoss(model: model, batches: heldOut, batchSize: plan.batchSize)
            result["valLoss"] = .double(loss)
        }
        context.progress(1, message: "done: \(rounds) rounds", step: Int64(plan.totalSteps), totalSteps: Int64(plan.totalSteps))
        return TaskResult(result: .object(result))
    }

    // MARK: Rounds

    /// Round 0: the seeded (or initFrom) weights and zero momentum; every member computes the same file.
    private func publishInitialGlobal(model: GPTModel, dir: TrainingDirectory) throws {
        guard !dir.exists(Self.globalName(0)) else { return }
        if let reference = plan.settings.initFrom {
            let checkpoint = try CheckpointLocation.open(reference, field: "spec.train.initFrom", context: context, sharedDirectory: plan.settings.sharedDirectory)
            guard checkpoint.config == plan.config else {
                throw specFailure("spec.train.initFrom: \(reference.displayName) has model config \(checkpoint.config), the spec asks for \(plan.config)")
            }
            try model.load(from: checkpoint)
        }
        try publishGlobal(model: model, velocity: [Float](repeating: 0, count: model.parameterCount), round: 0, members: [], dir: dir)
    }

    @discardableResult
    private func publishGlobal(model: GPTModel, velocity: [Float], round: Int, members: [Int], dir: TrainingDirectory) throws -> Bool {
        let temporary = dir.file(".global-\(round)-\(UUID().uuidString).tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try model.save(to: temporary.path, step: round * innerSteps, weightsAs: .float32,
                       metadata: ["job": task.jobName, "diloco_round": String(round), "diloco_members": members.map(String.init).joined(separator: ",")],
                       extraTensors: [NamedTensor(name: Self.velocityTensor, shape: [velocity.count], values: velocity)])
        return try dir.place(temporary, as: Self.globalName(round), exclusive: true)
    }

    /// Averages the deltas of `members`, applies the outer step to `global` and publishes round + 1.
    private func publishOuterStep(round: Int, members: [Int], model: GPTModel, global: [Float], velocity: [Float],
                                  rate: Float, momentum: Float, dir: TrainingDirectory) throws -> Bool {
        var deltas: [[Float]] = []
        for member in members {
            let data: Data
            do { data = try Data(contentsOf: dir.file(Self.deltaName(round, rank: member))) } catch {
                throw TaskFailure("cannot read the pseudo-gradient of rank \(member) round \(round): \(error)")
            }
            deltas.append(try Safetensors.decode(data, as: transfer))
        }
        let mean = try DiLoCo.average(deltas)
        let outer = try OuterNesterovSGD(parameterCount: global.count, learningRate: rate, momentum: momentum)
        try outer.setVelocity(velocity)
        var next = global
        try outer.step(global: &next, pseudoGradient: mean)
        try model.setParameterVector(next)
        return try publishGlobal(model: model, velocity: outer.velocity, round: round + 1, members: members, dir: dir)
    }

    private func loadGlobal(_ round: Int, into model: GPTModel, dir: TrainingDirectory) throws -> (velocity: [Float], bytes: Int64) {
        let url = dir.file(Self.globalName(round))
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(path: url.path) } catch {
            throw TaskFailure("cannot read the global weights of round \(round) at \(url.path): \(error)")
        }
        try model.load(from: checkpoint)
        let velocity = try checkpoint.tensor(named: Self.velocityTensor)
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.int64Value ?? 0
        return (velocity, bytes)
    }

    private func newestGlobal(_ dir: TrainingDirectory) -> Int? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("global-"), name.hasSuffix(".safetensors") else { return nil }
            return Int(name.dropFirst("global-".count).dropLast(".safetensors".count))
        }.max()
    }

    /// Deletes deltas and globals of rounds before `round` (the newest rounds stay for late joiners).
    private func pruneRounds(before round: Int, dir: TrainingDirectory) {
        guard round > 0 else { return }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []
        for name in names {
            let number: Int?
            if name.hasPrefix("delta-") { number = Int(name.dropFirst("delta-".count).prefix(6)) }
            else if name.hasPrefix("global-") { number = Int(name.dropFirst("global-".count).prefix(6)) }
            else { number = nil }
            if let number, number < round { try? FileManager.default.removeItem(at: dir.file(name)) }
        }
    }

    /// This rank's stream, positioned at global sample `first` of the one global order.
    private func openStream(atGlobalSample first: Int64) throws -> TokenStream {
        let probe = try plan.trainingStream()
        guard first > 0 else { return probe }
        let perEpoch = probe.samplesPerEpoch
        return try plan.trainingStream(resumingFrom: StreamState(epoch: first / perEpoch, position: first % perEpoch))
    }
}
