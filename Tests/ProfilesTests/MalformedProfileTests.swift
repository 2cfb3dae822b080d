import Core
import Foundation
import Profiles
import Testing

/// Loading a directory holding one bad file must fail with a message naming the file, the key
/// and the reason.
@Suite struct MalformedProfileTests {
    /// The message of the error loading `directory` throws, or nil when it loads.
    func loadMessage(_ directory: TemporaryProfiles) -> String? {
        do {
            _ = try ProfileStore.load(directory: directory.path)
            return nil
        } catch {
            return error.errorDescription ?? "\(error)"
        }
    }

    func expectFailure(_ relativePath: String, _ text: String, mentions fragments: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let directory = try TemporaryProfiles()
        try directory.write(relativePath, text)
        let message = try #require(loadMessage(directory), "expected \(relativePath) to be rejected",
                                   sourceLocation: sourceLocation)
        testLog(message)
        #expect(message.contains(relativePath), "file missing in: \(message)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(message.contains(fragment), "'\(fragment)' missing in: \(message)", sourceLocation: sourceLocation)
        }
    }

    @Test func wrongTypeNamesKeyAndFoundValue() throws {
        try expectFailure("gpus/slow.json", gpuJSON(name: "slow", bandwidth: "\"fast\""),
                          mentions: ["key 'memoryBandwidthBytesPerSecond'", "expected a number", "the string \"fast\""])
    }

    @Test func wrongTypeDeepInACalibrationTable() throws {
        let system = """
        {"schemaVersion": 1, "gpu": "h200", "cpu": "xeon-8563c",
         "calibration": {"source": "bench", "pcie": [
           {"bytes": 4096, "hostToDeviceSeconds": 4e-6, "deviceToHostSeconds": 1e-5},
           {"bytes": 65536, "hostToDeviceSeconds": 5e-6, "deviceToHostSeconds": 1e-5},
           {"bytes": "1MB", "hostToDeviceSeconds": 3e-5, "deviceToHostSeconds": 3e-5}]}}
        """
        try expectFailure("systems/foo.json", system, mentions: ["key 'calibration.pcie[2].bytes'", "expected a number"])
    }

    @Test func missingKeyIsNamed() throws {
        let text = """
        {"schemaVersion": 1, "coresPerSocket": 8, "dramBandwidthBytesPerSecondPerSocket": 100e9,
         "defaultMemoryBytesPerSocket": 64e9, "vectorISA": ["avx2"], "source": "test"}
        """
        try expectFailure("cpus/tiny.json", text, mentions: ["key 'flopsPerSecondPerCore'", "missing", "add it"])
    }

    @Test func negativeBandwidthIsRejected() throws {
        try expectFailure("gpus/neg.json", gpuJSON(name: "neg", bandwidth: "-5e11"),
                          mentions: ["key 'memoryBandwidthBytesPerSecond'", "positive", "-500000000000"])
    }

    @Test func efficiencyAboveOneIsRejected() throws {
        try expectFailure("gpus/eff.json", gpuJSON(name: "eff", extra: #", "efficiency": {"linearBandwidth": 1.5}"#),
                          mentions: ["key 'efficiency.linearBandwidth'", "(0, 1]"])
    }

    @Test func unknownReferencedCPUListsTheKnownOnes() throws {
        let text = #"{"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-9999", "sockets": 1}"#
        try expectFailure("systems/box.json", text, mentions: ["key 'cpu'", "xeon-9999", "xeon-8480p", "cpus/xeon-9999.json"])
    }

    @Test func unknownDefaultHostIsRejected() throws {
        try expectFailure("gpus/orphan.json", gpuJSON(name: "orphan", defaultHost: "pentium"),
                          mentions: ["key 'defaultHost'", "pentium"])
    }

    @Test func unsupportedSchemaVersion() throws {
        try expectFailure("gpus/future.json", #"{"schemaVersion": 2, "name": "future"}"#,
                          mentions: ["key 'schemaVersion'", "version 2 is not supported", "supported: 1"])
    }

    @Test func missingSchemaVersion() throws {
        try expectFailure("cpus/old.json", #"{"name": "old"}"#, mentions: ["key 'schemaVersion'", "missing"])
    }

    @Test func invalidJSONSyntax() throws {
        try expectFailure("models/broken.json", #"{"schemaVersion": 1, "shape": {"layerCount": 32"#, mentions: ["not valid JSON", "end of file"])
    }

    @Test func misspelledKeyIsReported() throws {
        try expectFailure("gpus/typo.json", gpuJSON(name: "typo", extra: #", "reservedByte": 1e9"#),
                          mentions: ["key 'reservedByte'", "is not a key of a gpu profile"])
    }

    @Test func nameMustMatchTheFile() throws {
        try expectFailure("gpus/left.json", gpuJSON(name: "right"), mentions: ["key 'name'", "'right'", "left.json"])
    }

    @Test func headsMustDivide() throws {
        let text = """
        {"schemaVersion": 1, "shape": {"layerCount": 4, "hiddenSize": 64, "intermediateSize": 128,
          "queryHeadCount": 4, "kvHeadCount": 3, "headDim": 16, "vocabSize": 100}, "source": "test"}
        """
        try expectFailure("models/odd.json", text, mentions: ["key 'shape.kvHeadCount'", "must divide"])
    }

    @Test func denseLayerOutsideTheModel() throws {
        let text = """
        {"schemaVersion": 1, "shape": {"layerCount": 4, "hiddenSize": 64, "intermediateSize": 128,
          "queryHeadCount": 4, "kvHeadCount": 2, "headDim": 16, "vocabSize": 100, "denseLayers": [0, 4]},
         "source": "test"}
        """
        try expectFailure("models/deep.json", text, mentions: ["key 'shape.denseLayers[1]'", "outside 0..<4"])
    }

    @Test func socketsAboveTheCPUMaximum() throws {
        try expectFailure("systems/big.json", #"{"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-8480p", "sockets": 4}"#,
                          mentions: ["key 'sockets'", "at most 2"])
    }

    @Test func fileOutsideAProfileFolder() throws {
        try expectFailure("stray.json", #"{"schemaVersion": 1}"#, mentions: ["not in a profile folder", "gpus/"])
    }

    @Test func calibrationFromMustNameACalibratedSystem() throws {
        try expectFailure("systems/copy.json",
                          #"{"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-8480p", "calibrationFrom": "rtx4090-epyc"}"#,
                          mentions: ["key 'calibrationFrom'", "rtx4090-epyc", "h200"])
    }

    @Test func missingDirectoryIsReported() throws {
        #expect {
            _ = try ProfileStore.load(directory: "/nonexistent/pigplan-profiles")
        } throws: { error in
            (error as? ProfileError)?.errorDescription?.contains("/nonexistent/pigplan-profiles") == true
        }
    }
}

@Suite struct SyntaxErrorTests {
    @Test func syntaxErrorNamesLineAndColumn() throws {
        let directory = try TemporaryProfiles()
        try directory.write("cpus/bad.json", "{\n  \"schemaVersion\": 1,\n  \"name\" \"bad\"\n}")
        #expect {
            _ = try ProfileStore.load(directory: directory.path)
        } throws: { error in
            let message = (error as? ProfileError)?.errorDescription ?? ""
            testLog(message)
            return message.contains("cpus/bad.json") && message.contains("line 3")
        }
    }
}

extension MalformedProfileTests {
    /// A node profile must say how its GPUs reach each other, and map every GPU to a socket it has.
    @Test func nodeProfilesNeedInterconnectAndASocketPerGPU() throws {
        try expectFailure("systems/node.json", """
            {"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-8480p", "sockets": 2, "gpuCount": 4}
            """, mentions: ["key 'interconnect'", "a node of 4 GPUs needs its GPU-to-GPU link"])
        let link = """
            "interconnect": {"kind": "nvlink", "generation": 4, "bandwidthBytesPerSecond": 360e9,
                             "latencySecondsPerHop": 2e-6, "peerToPeer": true, "source": "datasheet"}
            """
        try expectFailure("systems/node.json", """
            {"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-8480p", "sockets": 2, "gpuCount": 4, \(link),
             "gpuSockets": [0, 0, 1]}
            """, mentions: ["key 'gpuSockets'", "lists 3 GPU(s) but gpuCount is 4"])
        try expectFailure("systems/node.json", """
            {"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-8480p", "sockets": 2, "gpuCount": 2, \(link),
             "gpuSockets": [0, 2]}
            """, mentions: ["key 'gpuSockets[1]'", "socket 2", "sockets 0 to 1"])
        try expectFailure("systems/node.json", """
            {"schemaVersion": 1, "gpu": "h100", "cpu": "xeon-8480p", "sockets": 2, "gpuCount": 2,
             "interconnect": {"kind": "infiniband", "generation": 4, "bandwidthBytesPerSecond": 360e9,
                              "latencySecondsPerHop": 2e-6, "peerToPeer": true, "source": "x"}}
            """, mentions: ["interconnect.kind", "use nvlink or pcie"])
    }
}
