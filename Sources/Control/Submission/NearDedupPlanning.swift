// The planning of a tokenize job's `nearDedup` and `decontaminate` options (NearDedupKind.swift, docs/dedup.md):
// two helper jobs in front of the tokenize job — `<name>-minhash` (the tokenize job's own chunks, one task each)
// then `<name>-lsh` (one task per reducer) — and the settings every tokenize task carries.

import APITypes
import ClusterModel
import Foundation

enum NearDedupPlanning {
    static let minhashJobSuffix = "-minhash"
    static let lshJobSuffix = "-lsh"

    static func suffixes(_ settings: TokenizeSettings) -> [String] {
        settings.nearDedup == nil ? [] : [minhashJobSuffix, lshJobSuffix]
    }

    /// The helper jobs, in submission order; `main` is made to run after the last.
    static func helperJobs(_ manifest: JobManifest, main: inout JobManifest) -> [JobManifest] {
        var minhash = manifest
        minhash.metadata.name = manifest.name + minhashJobSuffix
        minhash.spec.type = NearDedupJobKinds.minhashName
        var lsh = manifest
        lsh.metadata.name = manifest.name + lshJobSuffix
        lsh.spec.type = NearDedupJobKinds.lshName
        if !lsh.spec.after.contains(minhash.name) { lsh.spec.after.append(minhash.name) }
        if !main.spec.after.contains(lsh.name) { main.spec.after.append(lsh.name) }
        return [minhash, lsh]
    }

    /// One spec per reducer of the `<name>-lsh` job.
    static func reduceTaskSpecs(_ settings: TokenizeSettings, chunkCount: Int) throws -> [AnyJSON] {
        guard let near = settings.nearDedup?.resolved else {
            throw StoreError.invalid(
                field: "spec.tokenize.nearDedup",
                message: "expected near-duplicate settings for a \(NearDedupJobKinds.lshName) job")
        }
        return try (0..<near.reducers).map {
            try AnyJSON(
                encoding: LSHReduceTaskSpec(
                    datasetDirectory: settings.datasetDirectory, reducer: $0, chunkCount: chunkCount, settings: near))
        }
    }

    /// The eval files of `decontaminate.evals`, expanded on the control plane's filesystem (each file once, in
    /// pattern then path order); a pattern that matches nothing, or more than 64 files, fails the submission.
    static func decontamination(_ settings: TokenizeSettings) throws -> DecontaminationTaskSettings? {
        guard let decontaminate = settings.decontaminate else { return nil }
        var files: [String] = []
        for (i, pattern) in decontaminate.evals.enumerated() {
            let matched = TokenizeInputGlob.expand(pattern)
            guard !matched.isEmpty else {
                throw StoreError.invalid(
                    field: "spec.tokenize.decontaminate.evals[\(i)]",
                    message:
                        "\"\(pattern)\" matches no files on the control plane's filesystem (eval files must be where every worker sees them)"
                )
            }
            for file in matched where !files.contains(file.path) { files.append(file.path) }
        }
        guard files.count <= NearDedupJobKinds.maxEvalFiles else {
            throw StoreError.invalid(
                field: "spec.tokenize.decontaminate.evals",
                message:
                    "expected at most \(NearDedupJobKinds.maxEvalFiles) eval files (each is an eval set), got \(files.count); concatenate the files of one eval set"
            )
        }
        return DecontaminationTaskSettings(
            evalFiles: files, ngramWords: decontaminate.ngramWords ?? 13)
    }
}
