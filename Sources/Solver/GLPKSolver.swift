import CGLPK
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Solves a `LinearProgram` with GLPK's branch-and-cut (glp_intopt, presolver on).
///
/// GLPK aborts the process on misuse, so every program is validated first (`problems()`); its
/// terminal output is switched off on the calling thread (GLPK state is thread-local) and each
/// return code is mapped to a `SolveStatus`. GLPK is GPL-3: it stays behind this protocol.
public struct GLPKSolver: LinearProgramSolver {
    /// Wall-clock limit per solve, seconds.
    public var timeLimitSeconds: Double
    /// Relative MIP gap at which branch-and-cut stops (0 = prove optimality).
    public var relativeGap: Double

    public init(timeLimitSeconds: Double = 10, relativeGap: Double = 0) {
        self.timeLimitSeconds = timeLimitSeconds
        self.relativeGap = relativeGap
    }

    public func solve(_ program: LinearProgram) -> SolveResult {
        let problems = program.problems()
        guard problems.isEmpty else {
            return SolveResult(status: .failed, objective: nil, values: [], message: problems.prefix(3).joined(separator: "; "))
        }
        guard !program.variables.isEmpty else {
            return SolveResult(status: .failed, objective: nil, values: [], message: "the program has no variables")
        }
        _ = glp_term_out(GLP_OFF)
        // GLPK cannot continue after an internal error: it calls this hook, then aborts. With its
        // terminal output off the user would see nothing, so say what happened first. Inputs are
        // validated above, so reaching it is a pigplan bug.
        glp_error_hook({ _ in
            let message = "pigplan: GLPK stopped on an internal error (a pigplan bug: please report it with the command line)\n"
            _ = message.withCString { write(2, $0, strlen($0)) }
        }, nil)
        guard let lp = glp_create_prob() else {
            return SolveResult(status: .failed, objective: nil, values: [], message: "GLPK could not allocate a problem")
        }
        defer { glp_delete_prob(lp) }
        glp_set_obj_dir(lp, program.sense == .maximize ? GLP_MAX : GLP_MIN)

        let columnCount = program.variables.count
        glp_add_cols(lp, Int32(columnCount))
        for (j, v) in program.variables.enumerated() {
            let col = Int32(j + 1)
            let (type, lo, hi) = Self.bounds(v.lower, v.upper)
            glp_set_col_bnds(lp, col, type, lo, hi)
            glp_set_obj_coef(lp, col, v.objective)
            switch v.kind {
            case .continuous: glp_set_col_kind(lp, col, GLP_CV)
            case .integer: glp_set_col_kind(lp, col, GLP_IV)
            case .binary: glp_set_col_kind(lp, col, GLP_BV)
            }
        }
        if !program.constraints.isEmpty {
            glp_add_rows(lp, Int32(program.constraints.count))
            // glp_load_matrix takes 1-based triplets; slot 0 is unused.
            var ia: [Int32] = [0], ja: [Int32] = [0], ar: [Double] = [0]
            for (i, c) in program.constraints.enumerated() {
                let row = Int32(i + 1)
                let (type, lo, hi) = Self.bounds(c.lower, c.upper)
                glp_set_row_bnds(lp, row, type, lo, hi)
                for (j, a) in c.terms where a != 0 {
                    ia.append(row); ja.append(Int32(j + 1)); ar.append(a)
                }
            }
            glp_load_matrix(lp, Int32(ia.count - 1), &ia, &ja, &ar)
        }

        var parm = glp_iocp()
        glp_init_iocp(&parm)
        parm.presolve = GLP_ON
        parm.msg_lev = GLP_MSG_OFF
        parm.tm_lim = Int32(min(Double(Int32.max), max(1, timeLimitSeconds * 1000)))
        parm.mip_gap = relativeGap
        let code = glp_intopt(lp, &parm)
        let status = glp_mip_status(lp)
        let values = (0..<columnCount).map { glp_mip_col_val(lp, Int32($0 + 1)) }
        let objective = glp_mip_obj_val(lp)

        switch (code, status) {
        case (0, GLP_OPT): return SolveResult(status: .optimal, objective: objective, values: values)
        case (_, GLP_NOFEAS), (GLP_ENOPFS, _):
            return SolveResult(status: .infeasible, objective: nil, values: [], message: "no point satisfies every constraint")
        case (GLP_ENODFS, _):
            return SolveResult(status: .unbounded, objective: nil, values: [], message: "the objective is unbounded")
        case (GLP_ETMLIM, GLP_FEAS), (GLP_EMIPGAP, GLP_FEAS), (0, GLP_FEAS):
            return SolveResult(status: .feasible, objective: objective, values: values, message: "stopped at a limit before proving optimality")
        default:
            return SolveResult(status: .failed, objective: nil, values: [], message: Self.describe(code: code))
        }
    }

    static func bounds(_ lower: Double?, _ upper: Double?) -> (Int32, Double, Double) {
        switch (lower, upper) {
        case (nil, nil): return (GLP_FR, 0, 0)
        case (let l?, nil): return (GLP_LO, l, 0)
        case (nil, let u?): return (GLP_UP, 0, u)
        case (let l?, let u?): return (l == u ? GLP_FX : GLP_DB, l, u)
        }
    }

    static func describe(code: Int32) -> String {
        switch code {
        case GLP_EBOUND: return "GLPK: inconsistent bounds"
        case GLP_EROOT: return "GLPK: no optimal basis for the root relaxation"
        case GLP_EFAIL: return "GLPK: the search failed (numerical trouble)"
        case GLP_ETMLIM: return "GLPK: time limit reached without a feasible point"
        case GLP_ESTOP: return "GLPK: stopped by the application"
        default: return "GLPK returned code \(code)"
        }
    }
}
