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
