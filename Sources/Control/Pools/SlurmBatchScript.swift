import ClusterModel

/// What `sbatch` is given for a pool: its options (from the pool's definition) and the batch script that starts
/// one worker daemon per node. Pure, so the exact command line is tested without Slurm.
enum SlurmBatchScript {
    static let mebibyte: Int64 = 1 << 20

    /// `sbatch` options for a job of `nodes` nodes: one task per node, each with the node's resources, the
    /// pool's partition, account, time limit and gres, only `PATH` and the join token exported.
    static func sbatchArguments(_ pool: WorkerPoolSpec, nodes: Int) -> [String] {
        let slurm = pool.slurm
        let node = pool.nodeResources
        var arguments = [
            "--parsable", "--job-name=\(SlurmCommands.jobName(pool: pool.name))", "--nodes=\(nodes)",
            "--ntasks-per-node=1", "--partition=\(slurm.partition)", "--time=\(slurm.timeLimitMinutes)",
            "--cpus-per-task=\((node.cpuMillis + 999) / 1000)",
            "--mem=\((node.memoryBytes + mebibyte - 1) / mebibyte)M",
            // A node failure ends the job; the autoscaler submits another if work still waits, so Slurm's own
            // requeue (same id, workers registering again mid-way) would only blur the records.
            "--no-requeue", "--output=\(slurm.outputDirectory)/\(SlurmCommands.jobName(pool: pool.name))-%j.out",
            // The job sees only these of the control plane's environment: never its admin token.
            "--export=PATH,OPS_JOIN_TOKEN",
        ]
        if let account = slurm.account { arguments.append("--account=\(account)") }
        let gres = node.accelerators.sorted { $0.key < $1.key }.compactMap { type, count in
            slurm.gres[type].map { "\($0):\(count)" }
        }
        if !gres.isEmpty { arguments.append("--gres=\(gres.joined(separator: ","))") }
        return arguments
    }

    /// The batch script: `srun` starts the pool's worker command once per node, with the node's resources and
    /// the pool's labels, named and labelled after the Slurm job so the autoscaler knows which workers it holds.
    static func script(_ pool: WorkerPoolSpec) -> String {
        let node = pool.nodeResources
        var worker = pool.worker.command
        worker += ["--cpus", "\(node.cpuMillis)m", "--memory", "\(node.memoryBytes)"]
        for (type, count) in node.accelerators.sorted(by: { $0.key < $1.key }) {
            worker += ["--accelerator", "\(type)=\(count)"]
        }
        for (key, value) in pool.workerLabels.sorted(by: { $0.key < $1.key }) {
            worker += ["--label", "\(key)=\(value)"]
        }
        let perNode =
            "exec \"$@\" --name \"slurm-${SLURM_JOB_ID}-${SLURMD_NODENAME}\" --label \"\(WorkerPoolSpec.slurmJobLabel)=${SLURM_JOB_ID}\""
        return """
            #!/bin/bash
            # llm-ops worker pool \(pool.name), written by the control plane's pool autoscaler (docs/worker-pools.md):
            # one worker daemon per node. --kill-on-bad-exit ends every member when one fails, as a gang would.
            exec srun --kill-on-bad-exit=1 --ntasks-per-node=1 /bin/bash -c \(quoted(perNode)) llmops-worker \
            \(worker.map(quoted).joined(separator: " "))

            """
    }

    /// `'text'` for the shell, with each `'` closed, escaped and reopened.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
