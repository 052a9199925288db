// Where a `command` gang member stands (the torchrun variables) and which accelerator devices it may use.

import APITypes
import Foundation
import Primitives

/// RANK, WORLD_SIZE, NODE_RANK, LOCAL_RANK and LOCAL_WORLD_SIZE of one member, from the gang the control plane
/// sent. A node is a worker: members placed on the same worker share a node, nodes are numbered by their lowest
/// rank, and ranks on a node by rank. (The scheduler places a gang on distinct workers today, so LOCAL_RANK is 0
/// and NODE_RANK equals RANK; the numbering holds when members share a worker.)
public struct CommandGangPosition: Equatable, Sendable {
    public var rank: Int
    public var worldSize: Int
    public var nodeRank: Int
    public var localRank: Int
    public var localWorldSize: Int

    public init(gang: GangInfo?) {
        guard let gang, gang.size > 1 else {
            self.init(rank: 0, worldSize: 1, nodeRank: 0, localRank: 0, localWorldSize: 1)
            return
        }
        // A peer whose worker is unknown counts as a node of its own (keyed apart from every worker id).
        func node(_ peer: GangPeer) -> String { peer.workerID.map { "w\($0.rawValue)" } ?? "r\(peer.rank)" }
        let peers = gang.peers.sorted { $0.rank < $1.rank }
        let me = peers.first { $0.rank == gang.rank }.map(node) ?? "r\(gang.rank)"
        var nodes: [String] = []
        for peer in peers where !nodes.contains(node(peer)) { nodes.append(node(peer)) }
        let local = peers.filter { node($0) == me }.map(\.rank)
        self.init(
            rank: gang.rank, worldSize: gang.size, nodeRank: nodes.firstIndex(of: me) ?? 0,
            localRank: local.firstIndex(of: gang.rank) ?? 0, localWorldSize: max(1, local.count))
    }

    public init(rank: Int, worldSize: Int, nodeRank: Int, localRank: Int, localWorldSize: Int) {
        self.rank = rank
        self.worldSize = worldSize
        self.nodeRank = nodeRank
        self.localRank = localRank
        self.localWorldSize = localWorldSize
    }

    /// The variables torch.distributed's `env://` init (and torchrun-style scripts) read.
    public func environment(masterAddress: String, masterPort: Int) -> [String: String] {
        [
            "RANK": "\(rank)", "WORLD_SIZE": "\(worldSize)", "NODE_RANK": "\(nodeRank)", "LOCAL_RANK": "\(localRank)",
            "LOCAL_WORLD_SIZE": "\(localWorldSize)", "MASTER_ADDR": masterAddress, "MASTER_PORT": "\(masterPort)",
        ]
    }
}

/// The accelerator devices a worker declared (`opsctl worker --devices 0,1,2,3`), handed out disjointly to the
/// attempts running on it: an attempt that asked for N accelerators gets N device ids as `CUDA_VISIBLE_DEVICES`,
/// one that asked for none gets an empty list (so it cannot touch a device another attempt holds). A worker that
/// declared no devices leaves the variable alone.
public final class DevicePool: Sendable {
    public let devices: [String]
    private let free: Locked<[String]>

    public init(devices: [String]) {
        self.devices = devices
        self.free = Locked(devices)
    }

    /// `count` free devices (the lowest-numbered first), or nil when the worker declared none. Throws (retryable)
    /// when fewer are free: the scheduler counts accelerators, so this means the declared list and
    /// `--accelerator` disagree.
    public func acquire(count: Int) throws -> [String]? {
        guard !devices.isEmpty else { return nil }
        return try free.withLock { free in
            guard count <= free.count else {
                throw TaskFailure(
                    "needs \(count) accelerator devices but only \(free.count) of this worker's \(devices.count) "
                        + "(--devices \(devices.joined(separator: ","))) are free; declare as many devices as "
                        + "--accelerator offers",
                    retryable: true)
            }
            let taken = Array(free.prefix(count))
            free.removeFirst(count)
            return taken
        }
    }

    public func release(_ taken: [String]) {
        free.withLock { free in
            free.append(contentsOf: taken)
            free.sort { devices.firstIndex(of: $0) ?? 0 < devices.firstIndex(of: $1) ?? 0 }
        }
    }
}
