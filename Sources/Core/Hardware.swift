/// A fully resolved machine: a system profile with its GPU and CPU profiles looked up and the
/// command-line overrides (--cpu, --sockets, --threads, --gpu-memory, --cpu-memory) applied.
/// This is what the cost model reads.
public struct Hardware: Sendable, Hashable {
    /// The system or GPU name the user asked for (`--hw`).
    public var name: String
    /// nil for a CPU-only machine (its linear layers run on the CPU too).
    public var gpu: GPUProfile?
    public var cpu: CPUProfile
    /// Sockets installed and usable.
    public var sockets: Int
    /// Cores available for CPU attention, over all usable sockets.
    public var threads: Int
    /// Host memory usable for KV cache and hash tables, bytes.
    public var cpuMemoryBytes: Double
    /// GPU memory usable (device memory, or the --gpu-memory cap), bytes; 0 without a GPU.
    public var gpuMemoryBytes: Double
    /// Each socket reads its own NUMA node's memory.
    public var numaLocal: Bool
    /// The CPU <-> GPU link, when there is a GPU.
    public var link: HostLink?
    public var calibration: Calibration?
    /// GPUs of the node (all of one kind); `gpuMemoryBytes` is each one's.
    public var gpuCount: Int = 1
    /// How the node's GPUs reach each other (nil with one GPU).
    public var interconnect: GPUInterconnect?
    /// The socket each GPU's PCIe link hangs off, GPU by GPU (its CPU work runs there).
    public var gpuSockets: [Int] = [0]
    /// Share of each socket's DRAM bandwidth this view's CPU work gets: 1 for the whole machine,
    /// 1 / (GPUs on the socket) in the view of one GPU of a node (`perGPUView`).
    public var cpuBandwidthShare: Double = 1

    public init(name: String, gpu: GPUProfile?, cpu: CPUProfile, sockets: Int, threads: Int,
                cpuMemoryBytes: Double, gpuMemoryBytes: Double, numaLocal: Bool, link: HostLink?,
                calibration: Calibration?) {
        self.name = name
        self.gpu = gpu
        self.cpu = cpu
        self.sockets = sockets
        self.threads = threads
        self.cpuMemoryBytes = cpuMemoryBytes
        self.gpuMemoryBytes = gpuMemoryBytes
        self.numaLocal = numaLocal
        self.link = link
        self.calibration = calibration
    }
}

extension Hardware {
    /// GPUs on the socket that carries the most of them.
    public var gpusOnBusiestSocket: Int {
        guard gpuCount > 1 else { return 1 }
        var counts: [Int: Int] = [:]
        for s in gpuSockets { counts[s, default: 0] += 1 }
        return counts.values.max() ?? 1
    }

    /// The machine as one GPU of a multi-GPU node sees it: every GPU of the node runs (one
    /// shard of a tensor-parallel instance, or a replica), and each GPU's CPU work runs on the
    /// socket its link hangs off, with that socket's cores, DRAM bandwidth and memory shared
    /// evenly by the GPUs on it. The busiest socket sets the step, so the view takes its share:
    /// one socket, cores / k threads, 1 / k of its bandwidth and of its memory for k GPUs on it.
    /// A single-GPU machine is its own view.
    public var perGPUView: Hardware {
        guard gpuCount > 1 else { return self }
        var view = self
        let k = gpusOnBusiestSocket
        let coresPerSocket = max(1, threads / max(1, sockets))
        view.sockets = 1
        view.threads = max(1, coresPerSocket / k)
        view.cpuMemoryBytes = cpuMemoryBytes / Double(max(1, sockets)) / Double(k)
        view.cpuBandwidthShare = cpuBandwidthShare / Double(k)
        view.numaLocal = true
        return view
    }
}
