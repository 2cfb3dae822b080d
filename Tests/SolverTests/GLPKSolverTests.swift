import Solver
import Testing

/// GLPK behind the protocol: optimal values, every non-optimal outcome as a typed status, and
/// malformed programs refused before they reach GLPK (which would abort the process).
struct GLPKSolverTests {
    let solver = GLPKSolver()

    @Test func smallMILPHasItsKnownOptimum() {
        // maximize 5x + 4y  s.t.  6x + 4y <= 24,  x + 2y <= 6,  x, y integer >= 0: optimum 20 at
        // (4, 0) (the LP relaxation's 21 at (3, 1.5) is not integral).
        var lp = LinearProgram(sense: .maximize)
        let x = lp.addVariable("x", kind: .integer, lower: 0, objective: 5)
        let y = lp.addVariable("y", kind: .integer, lower: 0, objective: 4)
        lp.addConstraint("a", [(x, 6), (y, 4)], upper: 24)
        lp.addConstraint("b", [(x, 1), (y, 2)], upper: 6)
        let r = solver.solve(lp)
        #expect(r.status == .optimal)
        #expect(r.objective == 20)
        #expect(r.values == [4, 0])
    }

    @Test func binaryChoiceAndEqualityRows() {
        // Choose exactly one of three options, value 3, 7, 5: the best is the second.
        var lp = LinearProgram(sense: .maximize)
        let ys = [3.0, 7.0, 5.0].enumerated().map { lp.addVariable("y\($0.offset)", kind: .binary, objective: $0.element) }
        lp.addConstraint("one", ys.map { ($0, 1.0) }, lower: 1, upper: 1)
        let r = solver.solve(lp)
        #expect(r.status == .optimal && r.objective == 7 && r.values == [0, 1, 0])
    }

    @Test func infeasibleAndUnboundedAreStatuses() {
        var infeasible = LinearProgram(sense: .minimize)
        let x = infeasible.addVariable("x", kind: .integer, lower: 0, upper: 10, objective: 1)
        infeasible.addConstraint("too big", [(x, 1)], lower: 11)
        #expect(solver.solve(infeasible).status == .infeasible)

        var unbounded = LinearProgram(sense: .maximize)
        let u = unbounded.addVariable("u", kind: .integer, lower: 0, objective: 1)
        unbounded.addConstraint("loose", [(u, 1)], lower: 1)
        let status = solver.solve(unbounded).status
        testLog("unbounded MILP: \(status)")
        #expect(status == .unbounded)
    }

    @Test func malformedProgramsNeverReachGLPK() {
        // Each of these would make GLPK print and abort the process if passed on.
        var badIndex = LinearProgram(sense: .maximize)
        let a = badIndex.addVariable("a", objective: 1)
        badIndex.addConstraint("oops", [(a, 1), (7, 2)], upper: 1)
        let r1 = solver.solve(badIndex)
        #expect(r1.status == .failed && r1.message?.contains("out of range") == true)

        var badBounds = LinearProgram(sense: .maximize)
        _ = badBounds.addVariable("b", lower: 2, upper: 1, objective: 1)
        #expect(solver.solve(badBounds).status == .failed)

        var notFinite = LinearProgram(sense: .maximize)
        _ = notFinite.addVariable("c", lower: 0, upper: 1, objective: .nan)
        #expect(solver.solve(notFinite).status == .failed)

        var duplicate = LinearProgram(sense: .maximize)
        let d = duplicate.addVariable("d", lower: 0, upper: 1, objective: 1)
        duplicate.addConstraint("twice", [(d, 1), (d, 1)], upper: 1)
        #expect(solver.solve(duplicate).status == .failed)

        #expect(solver.solve(LinearProgram(sense: .maximize)).status == .failed)
    }
}
