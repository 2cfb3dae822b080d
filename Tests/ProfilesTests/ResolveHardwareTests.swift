import Core
import Foundation
import Profiles
import Testing

@Suite struct ResolveHardwareTests {
    let store: ProfileStore
    init() throws { store = try ProfileStore.builtIn() }

    @Test func systemResolvesWithItsCalibration() throws {
        let hw = try store.resolveHardware(name: "h200")
        #expect(hw.gpu?.name == "h200")
        #expect(hw.cpu.name == "xeon-8563c")
        #expect(hw.sockets == 1 && hw.threads == 16)
        #expect(hw.cpuMemoryBytes == 128 * 1_073_741_824)
        #expect(hw.gpuMemoryBytes == 141e9)
        #expect(hw.link?.practicalBandwidthBytesPerSecond == 55.2e9)
        #expect(hw.calibration?.cpu?.threads == 16)
        #expect(hw.numaLocal)
    }

    @Test func gpuAlonePairsWithItsDefaultHost() throws {
        let hw = try store.resolveHardware(name: "h100")
        #expect(hw.cpu.name == "xeon-8480p")
        #expect(hw.sockets == 1 && hw.threads == 56)
        #expect(hw.cpuMemoryBytes == 512 * 1_073_741_824)
        #expect(hw.link == (try store.gpu("h100").link))
        #expect(hw.calibration == nil)
    }

    @Test func overridesApply() throws {
        let hw = try store.resolveHardware(name: "a100-80g", cpu: "epyc-9654", sockets: 2, threads: 100,
                                           gpuMemoryBytes: 40e9, cpuMemoryBytes: 1e12)
        #expect(hw.cpu.name == "epyc-9654")
        #expect(hw.sockets == 2 && hw.threads == 100)
        #expect(hw.gpuMemoryBytes == 40e9 && hw.cpuMemoryBytes == 1e12)
        #expect(!hw.numaLocal)
    }

    @Test func otherCPUDropsTheCPUCalibrationOnly() throws {
        let hw = try store.resolveHardware(name: "h200", cpu: "xeon-8480p")
        #expect(hw.calibration?.cpu == nil)
        #expect(hw.calibration?.gpuLinearLayers?.count == 10)
        #expect(hw.threads == 16)
    }

    @Test func cpuNameAloneIsACPUOnlyMachine() throws {
        let hw = try store.resolveHardware(name: "xeon-8380", sockets: 2)
        #expect(hw.gpu == nil && hw.link == nil && hw.gpuMemoryBytes == 0)
        #expect(hw.threads == 80)
    }

    @Test func invalidOverridesAreRejected() throws {
        #expect(throws: ProfileError.self) { _ = try store.resolveHardware(name: "h100", sockets: 3) }
        #expect(throws: ProfileError.self) { _ = try store.resolveHardware(name: "h100", sockets: 0) }
        #expect(throws: ProfileError.self) { _ = try store.resolveHardware(name: "h100", threads: 0) }
        #expect(throws: ProfileError.self) { _ = try store.resolveHardware(name: "xeon-8380", gpuMemoryBytes: 1e9) }
        #expect(throws: ProfileError.self) { _ = try store.resolveHardware(name: "h100", gpuMemoryBytes: 100e9) }
        #expect(throws: ProfileError.self) { _ = try store.resolveHardware(name: "h100", cpuMemoryBytes: -1) }
        #expect(throws: ProfileError.unknown(kind: .cpu, name: "m3", known: store.names(of: .cpu))) {
            _ = try store.resolveHardware(name: "h100", cpu: "m3")
        }
        #expect {
            _ = try store.resolveHardware(name: "h100", threads: 57)
        } throws: { error in
            let message = (error as? ProfileError)?.errorDescription ?? ""
            return message.contains("--threads 57") && message.contains("56 cores") && message.contains("--sockets")
        }
        #expect {
            _ = try store.resolveHardware(name: "b200")
        } throws: { error in
            let message = (error as? ProfileError)?.errorDescription ?? ""
            return message.contains("b200") && message.contains("h200-host16") && message.contains("rtx4090")
        }
    }
}
