// `opsctl replay JOB --step N [--rank R]` (issue 20; docs/lineage.md): the documents one rank of a train job read
// at step N, recomputed here from what the run recorded — its data sources, blend and seed (the task's spec), the
// stream state of its last checkpoint before N — and the shards' document runs (their source file and line).
// The stream is a pure function of those, so the same samples come back: the batch's checksum is compared with
// the one the trainer reported at that step (`batch_checksum`), and both are in the answer.

import APITypes
import ClusterModel
import DataShards
import Foundation
import Postgres

struct BatchReplay {
    let services: ControlServices

    func replay(job name: String, step: Int, rank: Int) throws -> ReplayedBatch {
        let job = try JobQueries(services: services).job(named: name)
        guard job.type == TrainJobKinds.trainName else {
            throw APIErrorBody(
                code: .badRequest, message: "job \(name) is of type \(job.type); replay reads the batches of train jobs"
            )
        }
        guard rank >= 0, rank < job.replicas else {
            throw APIErrorBody(
                code: .badRequest,
                message: "query parameter rank: job \(name) has ranks 0...\(job.replicas - 1), got \(rank)")
        }
        let settings = try taskSettings(job.id, rank: rank, job: name)
        let recorded = try recordedSteps(job.id, rank: rank)
        let lastStep = recorded?.last ?? Int64(settings.totalSteps(replicas: job.replicas))
        guard step >= 1, Int64(step) <= lastStep else {
            let what = recorded == nil ? "trains" : "has recorded"
            throw APIErrorBody(
                code: .badRequest,
                message: "query parameter step: job \(name) \(what) steps 1...\(lastStep) on rank \(rank), got \(step)")
        }
        let sources = try ReplaySources(services: services).open(settings.data)
        var configuration = StreamConfiguration(
            sources: sources, sequenceLength: settings.effectiveSequenceLength, batchSize: settings.batchSize,
            seed: settings.effectiveSeed, rank: rank, worldSize: job.replicas, verifyAhead: false, prefetch: nil)
        configuration.maxOpenShards = 4
        let stream: TokenStream
        do { stream = try TokenStream(configuration) } catch {
            throw APIErrorBody(code: .conflict, message: "cannot open job \(name)'s training data here: \(error)")
        }
        let start = try startingPoint(job, before: step, stream: stream)
        let replayed = try read(stream, settings: settings, job: job, step: step, rank: rank, from: start)
        return ReplayedBatch(
            job: name, step: step, rank: rank, fromCheckpoint: start.checkpoint,
            replayedChecksum: BatchChecksum.of(replayed.microbatches),
            recordedChecksum: try recordedChecksum(job.id, rank: rank, step: step),
            samples: try ReplayDocuments(services: services, sources: sources).describe(replayed, stream: stream))
    }

    /// What one step read: each micro-batch's tokens and sample ids.
    struct Read {
        var microbatches: [[Int32]]
        var samples: [[SampleID]]
        var tokensPerRow: Int
    }

    /// The micro-batches of `step` on `rank`: micro-batch a of step s reads B rows at global position
    /// base + ((s - 1 - S) * A + a) * W * B + rank * B (S the checkpoint's step, base its stream position).
    private func read(
        _ stream: TokenStream, settings: TrainSettings, job: JobRecord, step: Int, rank: Int,
        from start: (step: Int, position: Int64, checkpoint: String?)
    ) throws -> Read {
        let B = Int64(settings.batchSize)
        let A = Int64(settings.effectiveAccumulation)
        let W = Int64(job.replicas)
        var result = Read(microbatches: [], samples: [], tokensPerRow: settings.effectiveSequenceLength + 1)
        for a in 0..<A {
            let first = start.position + (Int64(step - 1 - start.step) * A + a) * W * B + Int64(rank) * B
            var tokens: [Int32] = []
            var ids: [SampleID] = []
            do { try stream.read(globalPositions: first, count: Int(B), into: &tokens, ids: &ids) } catch {
                throw APIErrorBody(
                    code: .conflict, message: "cannot read job \(job.name)'s training data here: \(error)")
            }
            result.microbatches.append(tokens)
            result.samples.append(ids)
        }
        return result
    }

    /// The newest checkpoint before `step` that recorded its stream state (its step and global position), else
    /// the start of the stream.
    private func startingPoint(_ job: JobRecord, before step: Int, stream: TokenStream) throws -> (
        step: Int, position: Int64, checkpoint: String?
    ) {
        guard
            let row = try services.pool.withConnection({
                try $0.queryFirst(LineageSQL.checkpointBefore, [job.id.sql, .int(Int64(step))])
            })
        else { return (0, 0, nil) }
        let checkpointStep = try row.int("step")
        let text = try row.optionalString("stream") ?? ""
        guard let state = try? WireCoding.decode(StreamState.self, from: Data(text.utf8)) else {
            throw APIErrorBody(
                code: .conflict,
                message: "checkpoint \(job.name)@\(checkpointStep) recorded an unreadable stream state: \(text)")
        }
        if let order = state.order, order != stream.configuration.orderFingerprint {
            throw APIErrorBody(
                code: .conflict,
                message:
                    "checkpoint \(job.name)@\(checkpointStep) was saved for another data order (fingerprint \(order), the data here gives \(stream.configuration.orderFingerprint)): a dataset of the job changed since it ran"
            )
        }
        return (checkpointStep, state.epoch * stream.samplesPerEpoch + state.position, "\(job.name)@\(checkpointStep)")
    }

    private func taskSettings(_ job: JobID, rank: Int, job name: String) throws -> TrainSettings {
        let text = try services.pool.withConnection {
            try $0.queryFirst(LineageSQL.taskSpec, [job.sql, .int(Int64(rank))])?.string("spec")
        }
        guard let text, let settings = try? WireCoding.decode(TrainSettings.self, from: Data(text.utf8)) else {
            throw APIErrorBody(code: .conflict, message: "job \(name) has no readable train spec for rank \(rank)")
        }
        return settings
    }

    private func recordedSteps(_ job: JobID, rank: Int) throws -> (first: Int64, last: Int64)? {
        let row = try services.pool.withConnection {
            try $0.queryOne(
                LineageSQL.batchChecksumSteps, [job.sql, .int(Int64(rank)), .text(BatchChecksum.metricName)])
        }
        guard let first = try row.optionalInt64("first"), let last = try row.optionalInt64("last") else { return nil }
        return (first, last)
    }

    private func recordedChecksum(_ job: JobID, rank: Int, step: Int) throws -> Int64? {
        let row = try services.pool.withConnection {
            try $0.queryFirst(
                LineageSQL.batchChecksum,
                [job.sql, .int(Int64(rank)), .int(Int64(step)), .text(BatchChecksum.metricName)])
        }
        return try row.map { Int64(try $0.double("value")) }
    }
}
