import Core
import Fixtures
import CostModel
import Testing

/// Each term against a value computed by hand (relative tolerance 1e-9 unless stated).
struct CostTermTests {
    let m = Fixture.model()

    func close(_ a: Double, _ b: Double, _ tol: Double = 1e-9) -> Bool { abs(a - b) <= tol * max(abs(b), 1e-30) }

    @Test func llama8bSizes() {
        let s = Fixture.llama8b
        // 2 x (4096 x 4096 x 2 + 4096 x 1024 x 2 + 3 x 4096 x 14336) = 436,207,616 bytes per layer.
        #expect(s.linearBytesPerLayer == 436_207_616)
        // Embedding + LM head 2 x 128256 x 4096, 32 layers x (218,103,808 + 8192), final norm 4096; x 2 bytes.
        #expect(s.weightBytes == 16_060_522_496)
        #expect(abs(s.weightBytes - 16.06e9) < 0.005e9)
        #expect(s.kvBytesPerToken == 131_072)
        #expect(s.kvBytesPerTokenPerLayer == 4096)
    }

    @Test func linearLayersAreMemoryBoundAtSmallBatch() {
        // 32 x 436,207,616 / (1000e9 x 0.8) = 17.448 ms; compute 2 x 218,103,808 / 99e12 is 100x less.
        #expect(close(m.linearLayersSeconds(batch: 1), 32 * 436_207_616 / 800e9))
        // LM head: 128256 x 4096 x 2 bytes / 800e9 = 1.31334 ms.
        #expect(close(m.lmHeadSeconds(batch: 1), 1_050_673_152 / 800e9))
    }

    @Test func linearLayersAreComputeBoundAtLargeBatch() {
        // Crossover B = 2 bytes x 165e12 x 0.6 / (2 x 1000e9 x 0.8) = 123.75.
        let b = 1000.0
        #expect(close(m.linearLayersSeconds(batch: b), 32 * 2 * b * 218_103_808 / (165e12 * 0.6)))
        #expect(m.batchKinks(Fixture.lsh(10, 150)).contains { abs($0 - 123.75) < 1e-9 })
    }

    @Test func gpuAttentionOfTheDenseLayers() {
        let config = Fixture.lsh(10, 150, batch: 4)
        // D = 2 layers x 4 x 98304 tokens x 4096 bytes / (1000e9 x 0.7).
        #expect(close(m.gpuAttentionSeconds(config, batch: 4), 2 * 4 * 98_304 * 4096 / 700e9))
        // Exact part: S = 30 layers x 4 x (4 + 64) tokens x 4096 bytes / 700e9.
        #expect(close(m.exactPartSeconds(config, batch: 4), 30 * 4 * 68 * 4096 / 700e9))
    }

    @Test func hashingIsKLdMultiplyAddsPerQueryHead() {
        // Per sparse layer max(2 x B x 32 x 128 x 1500 / 99e12, 128 x 1500 x 2 / 1000e9) = max(1.24e-7 B, 3.84e-7).
        let config = Fixture.lsh(10, 150)
        #expect(close(m.hashingSeconds(config, batch: 1), 30 * 128 * 1500 * 2 / 1000e9))
        #expect(close(m.hashingSeconds(config, batch: 64), 30 * 2 * 64 * 32 * 128 * 1500 / 99e12))
    }

    @Test func transfersPayLatencyTwicePerSparseLayer() {
        let config = Fixture.lsh(10, 150, batch: 2)
        // Up: 2 x (32 x 128 x 2 + 32 x 150 x 2) = 35,584 bytes; down: 2 x (32 x 128 x 2 + 32 x 4) = 16,640.
        let expected = 30 * (5e-6 + 35_584 / 25e9 + 5e-6 + 16_640 / 25e9)
        #expect(close(m.transferSeconds(config, batch: 2), expected))
    }

    @Test func sampledAttentionReadsTheGroupsUnionOnce() {
        let m = Fixture.model(fraction: 0.02)
        let config = Fixture.lsh(10, 150, batch: 8)
        // 30 layers x 8 x 8 KV heads x (1 - 0.98^4 = 0.07763184) x 98236 keys x (2 x 128 x 2 + 4) bytes:
        // the union of the 4 query heads' 2% samples, each row read once.
        let bytes = 30.0 * 8 * 8 * 0.07763184 * 98_236 * 516
        #expect(close(m.sampledAttentionBytes(config, batch: 8), bytes))
        // 64 (sequence, KV head) units over 32 threads: 32 x 10e9 x 0.5 = 160 GB/s of per-thread
        // work, capped at 200e9 x 0.8 x 0.5 = 80 GB/s.
        #expect(close(m.sampledAttentionSeconds(config, batch: 8), bytes / 80e9))
        // At batch 1 only 8 units, but the executor cuts each into pieces for all 32 threads: the cap still binds.
        #expect(close(m.sampledAttentionSeconds(config, batch: 1), bytes / 8 / 80e9))
        // One thread: 10e9 x 0.5 = 5 GB/s.
        let one = Fixture.lsh(10, 150, batch: 1, threads: 1)
        #expect(close(m.sampledAttentionSeconds(one, batch: 1), bytes / 8 / 5e9))
    }

    @Test func retrievalCountsWalksAndCandidates() {
        let m = Fixture.model(fraction: 0.02)
        let lsh = LSHParameters(hashBitsPerTable: 10, tableCount: 150)
        let P = m.lshStatistics(lsh).tableCollision
        // The implied per-table collision reproduces the fraction through the two-hit formula.
        #expect(abs(CollisionTheory.samplingProbability(tableCollision: P, tableCount: 150) - 0.02) < 1e-12)
        let perQuery = 150 * 50e-9 + 150 * P * 98_236 * 2e-9
        // 30 layers x 8 sequences x 8 (sequence, KV head) units of 4 query heads' walks, whole units
        // over 32 threads: 2 rounds of 4 perQuery.
        #expect(close(m.retrievalSeconds(Fixture.lsh(10, 150, batch: 8), batch: 8), 30 * 2 * 4 * perQuery))
        // Batch 1: 8 units leave 24 threads idle: one round.
        #expect(close(m.retrievalSeconds(Fixture.lsh(10, 150, batch: 1), batch: 1), 30 * 4 * perQuery))
    }

    @Test func numaInterleavingCostsBandwidth() {
        let local = Fixture.model(hardware: Fixture.hardware(sockets: 2, numaLocal: true))
        let mixed = Fixture.model(hardware: Fixture.hardware(sockets: 2, numaLocal: false))
        // Local: 2 x 160 GB/s. Interleaved: each socket reads half remote at 0.5: 320 / (1/2 + 1/(2 x 0.5)) = 213.3 GB/s.
        #expect(close(local.cpuBandwidth(threads: 64, sockets: 2, fraction: 1), 320e9))
        #expect(close(mixed.cpuBandwidth(threads: 64, sockets: 2, fraction: 1), 320e9 / 1.5))
    }

    @Test func memoryOfOneSequenceAt96k() {
        let m = Fixture.model(fraction: 0.02)
        let mem = m.memory(Fixture.lsh(10, 150), batch: 1)
        // Tables: 30 layers x 8 heads x (150 x 98236 x 4 + 150 x 1024 x 8) = 14.44 GB ("about 14 GB").
        let tablesPerHead: Double = 150 * 98_236 * 4 + 150 * 1024 * 8
        #expect(close(mem.cpuHashTableBytes, 30 * 8 * tablesPerHead))
        #expect(abs(mem.cpuHashTableBytes - 14.44e9) < 0.01e9)
        // Hashed layers' KV: 30 x 98304 x 4096; dense layers' KV on the GPU: 2 x 98304 x 4096.
        #expect(mem.cpuKVCacheBytes == 30 * 98_304 * 4096)
        #expect(mem.gpuKVCacheBytes == 2 * 98_304 * 4096)
        #expect(mem.cpuKeyNormBytes == 30 * 8 * 98_236 * 4)
        #expect(mem.gpuWeightsBytes == Fixture.llama8b.weightBytes)
        // int16 indices up to 64k tokens.
        let short = Fixture.model(context: 65_536).memory(Fixture.lsh(10, 150), batch: 1)
        let perHead: Double = 150 * (65_536 - 68) * 2 + 150 * 1024 * 8
        #expect(short.cpuHashTableBytes == 30 * 8 * perHead)
    }

    @Test func serialAddsAndPipelinedOverlaps() {
        let m = Fixture.model(fraction: 0.02)
        let serial = m.step(Fixture.lsh(10, 150, batch: 16), batch: 16)
        #expect(close(serial.stepSeconds, serial.gpuSideSeconds + serial.cpuSideSeconds))
        let piped = m.step(Fixture.lsh(10, 150, batch: 16, schedule: .pipelined), batch: 16)
        let g = piped.gpuSideSeconds, c = piped.cpuSideSeconds
        #expect(close(piped.stepSeconds, 2 * max(g, c) + min(g, c) / 30))
        // Half a batch each: the GPU side of a micro-batch is the cost model at B = 8.
        #expect(close(g, m.terms(Fixture.lsh(10, 150, batch: 8), batch: 8).gpuSideSeconds))
    }

    @Test func cpuOnlySystemRunsLinearLayersOnTheCPU() {
        let m = Fixture.model(hardware: Fixture.hardware(gpu: nil))
        // 436,207,616 bytes per layer / (min(32 x 10e9, 160e9) x 0.8) per layer.
        #expect(close(m.linearLayersSeconds(batch: 1), 32 * 436_207_616 / (160e9 * 0.8)))
        let mem = m.memory(Fixture.lsh(10, 150), batch: 1)
        #expect(mem.gpuBytes == 0)
        #expect(mem.cpuWeightsBytes == Fixture.llama8b.weightBytes)
    }
}
