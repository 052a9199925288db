"""datatrove's MinHash deduplication (stages 1-3: signatures, buckets, clusters) on a JSONL corpus, one task on
one worker, with MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1) — the parameters
DedupBench uses. Writes `document<TAB>cluster` for every document in a cluster (save_cluster_id) and prints the
seconds. Usage: python3 datatrove_bench.py corpus.jsonl workdir clusters.tsv"""
import os
import struct
import sys
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader

corpus, work, clusters_out = sys.argv[1], sys.argv[2], sys.argv[3]
config = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1)
folder, name = os.path.split(os.path.abspath(corpus))
start = time.time()
for pipeline, tasks in [
    ([JsonlReader(folder, glob_pattern=name), MinhashDedupSignature(output_folder=f"{work}/signatures", config=config)], 1),
    ([MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets", config=config)], config.num_buckets),
    ([MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids", config=config, save_cluster_id=True)], 1),
]:
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{len(os.listdir(work)) if os.path.isdir(work) else 0}", skip_completed=False).run()
seconds = time.time() - start
with open(f"{work}/remove_ids/000000.clusters", "rb") as f, open(clusters_out, "w") as out:
    data = f.read()
    for offset in range(0, len(data), 8):
        document, cluster = struct.unpack_from("<II", data, offset)
        out.write(f"{document}\t{cluster}\n")
print(f"SECONDS {seconds}")
