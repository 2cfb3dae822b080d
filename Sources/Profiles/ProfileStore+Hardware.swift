import Core

extension ProfileStore {
    /// The machine the cost model plans for. `name` (`--hw`) is a system profile, else a GPU
    /// profile paired with its `defaultHost` CPU on one socket, else a CPU profile alone (a
    /// CPU-only machine). The overrides replace the profile's values and are checked against
    /// the CPU and GPU they end up with:
    /// - `cpu`: another CPU profile. The system's CPU calibration (measured on the old CPU) is
    ///   dropped; its GPU tables are kept.
    /// - `sockets`: 1...cpu.maxSockets.
    /// - `threads`: 1...(cores per socket x sockets); default the system's threads when they
    ///   still fit, else every core of the used sockets.
    /// - `gpuMemoryBytes`: a cap in (0, device memory]; only with a GPU.
    /// - `cpuMemoryBytes`: > 0; default the system's value, else sockets x the CPU's default.
    /// NUMA-locality is the system's `numaLocal` when given, else true on one socket and false
    /// on more (a GPU or CPU name alone). A name whose profile was skipped as broken throws that
    /// profile's error (a broken system is not replaced by the GPU of the same name).
    public func resolveHardware(name: String, cpu cpuOverride: String? = nil, sockets socketsOverride: Int? = nil,
                                threads threadsOverride: Int? = nil, gpuMemoryBytes gpuMemoryOverride: Double? = nil,
                                cpuMemoryBytes cpuMemoryOverride: Double? = nil) throws(ProfileError) -> Hardware {
        var gpu: GPUProfile?
        var cpuName: String
        var sockets = 1
        var threads: Int?
        var cpuMemory: Double?
        var numaLocal: Bool?
        var link: HostLink?
        var calibration: Calibration?
        var gpuCount = 1
        var interconnect: GPUInterconnect?
        var gpuSockets: [Int]?

        if let system = systems[name] {
            gpuCount = system.gpuCount ?? 1
            interconnect = system.interconnect
            gpuSockets = system.gpuSockets
            gpu = try system.gpu.map { (g) throws(ProfileError) in try self.gpu(g) }
            cpuName = system.cpu
            sockets = system.sockets
            threads = system.threads
            cpuMemory = system.cpuMemoryBytes
            numaLocal = system.numaLocal
            link = system.link ?? gpu?.link
            calibration = system.calibration
        } else if let problem = problem(of: .system, named: name) {
            throw problem
        } else if let g = gpus[name] {
            gpu = g
            cpuName = g.defaultHost
            link = g.link
        } else if let problem = problem(of: .gpu, named: name) {
            throw problem
        } else if cpus[name] != nil {
            cpuName = name
        } else if let problem = problem(of: .cpu, named: name) {
            throw problem
        } else {
            throw ProfileError.unknownName(name: name, searched: [
                .system: names(of: .system), .gpu: names(of: .gpu), .cpu: names(of: .cpu),
            ])
        }

        if let cpuOverride, cpuOverride != cpuName {
            _ = try cpu(cpuOverride)
            cpuName = cpuOverride
            calibration?.cpu = nil
        }
        let cpu = try self.cpu(cpuName)

        if let socketsOverride {
            guard (1...cpu.maxSockets).contains(socketsOverride) else {
                throw ProfileError.invalidOverride(
                    option: "--sockets \(socketsOverride)",
                    reason: "a \(cpu.name) host has 1 to \(cpu.maxSockets) sockets",
                    fix: "pass --sockets between 1 and \(cpu.maxSockets)")
            }
            sockets = socketsOverride
        }
        let cores = cpu.coresPerSocket * sockets
        if let threadsOverride {
            guard (1...cores).contains(threadsOverride) else {
                throw ProfileError.invalidOverride(
                    option: "--threads \(threadsOverride)",
                    reason: "\(sockets) x \(cpu.name) has \(cores) cores",
                    fix: "pass --threads between 1 and \(cores)" + (sockets < cpu.maxSockets ? ", or more --sockets" : ""))
            }
            threads = threadsOverride
        } else if let t = threads, t > cores {
            threads = nil
        }

        var gpuMemory = gpu?.memoryBytes ?? 0
        if let gpuMemoryOverride {
            guard let gpu else {
                throw ProfileError.invalidOverride(
                    option: "--gpu-memory", reason: "'\(name)' has no GPU", fix: "drop --gpu-memory or name a system with a GPU")
            }
            guard gpuMemoryOverride.isFinite, gpuMemoryOverride > 0, gpuMemoryOverride <= gpu.memoryBytes else {
                throw ProfileError.invalidOverride(
                    option: "--gpu-memory \(Format.bytes(gpuMemoryOverride))",
                    reason: "the \(gpu.displayName) has \(Format.bytes(gpu.memoryBytes))",
                    fix: "pass a cap above 0 and at most \(Format.bytes(gpu.memoryBytes))")
            }
            gpuMemory = gpuMemoryOverride
        }
        if let cpuMemoryOverride {
            guard cpuMemoryOverride.isFinite, cpuMemoryOverride > 0 else {
                throw ProfileError.invalidOverride(
                    option: "--cpu-memory", reason: "must be a positive size", fix: "pass e.g. --cpu-memory 512GiB")
            }
            cpuMemory = cpuMemoryOverride
        }

        var hardware = Hardware(
            name: name, gpu: gpu, cpu: cpu, sockets: sockets, threads: threads ?? cores,
            cpuMemoryBytes: cpuMemory ?? Double(sockets) * cpu.defaultMemoryBytesPerSocket,
            gpuMemoryBytes: gpuMemory, numaLocal: numaLocal ?? (sockets == 1),
            link: gpu == nil ? nil : link, calibration: calibration)
        if gpu != nil, gpuCount > 1 {
            hardware.gpuCount = gpuCount
            hardware.interconnect = interconnect
            // Each GPU's socket; with fewer sockets than the profile's (--sockets), the GPUs of
            // the missing sockets hang off the ones left.
            let map = gpuSockets ?? (0..<gpuCount).map { $0 * sockets / gpuCount }
            hardware.gpuSockets = map.map { $0 % sockets }
        }
        return hardware
    }
}
