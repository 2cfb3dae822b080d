/// A mixed-integer linear program in a solver-neutral form:
///   maximize (or minimize) c.x  subject to  lower_i <= a_i.x <= upper_i,  l_j <= x_j <= u_j,
///   x_j integer for integer / binary variables.
/// Bounds use nil for "unbounded"; every coefficient must be finite.
public struct LinearProgram: Sendable, Hashable {
    public enum Sense: Sendable, Hashable { case maximize, minimize }
    public enum Kind: Sendable, Hashable { case continuous, integer, binary }

    public struct Variable: Sendable, Hashable {
        public var name: String
        public var kind: Kind
        public var lower: Double?
        public var upper: Double?
        public var objective: Double
    }
    public struct Constraint: Sendable, Hashable {
        public var name: String
        /// (variable index, coefficient), indices 0-based.
        public var terms: [(Int, Double)]
        public var lower: Double?
        public var upper: Double?
        public static func == (a: Constraint, b: Constraint) -> Bool {
            a.name == b.name && a.lower == b.lower && a.upper == b.upper
                && a.terms.map(\.0) == b.terms.map(\.0) && a.terms.map(\.1) == b.terms.map(\.1)
        }
        public func hash(into h: inout Hasher) {
            h.combine(name); h.combine(lower); h.combine(upper)
            for (i, c) in terms { h.combine(i); h.combine(c) }
        }
    }

    public var sense: Sense
    public private(set) var variables: [Variable] = []
    public private(set) var constraints: [Constraint] = []

    public init(sense: Sense) { self.sense = sense }

    /// Adds a variable and returns its index. Binary variables get bounds [0, 1].
    @discardableResult
    public mutating func addVariable(_ name: String, kind: Kind = .continuous, lower: Double? = 0,
                                     upper: Double? = nil, objective: Double = 0) -> Int {
        let (lo, hi) = kind == .binary ? (Double(0), Double(1)) : (lower, upper)
        variables.append(Variable(name: name, kind: kind, lower: lo, upper: hi, objective: objective))
        return variables.count - 1
    }

    @discardableResult
    public mutating func addConstraint(_ name: String, _ terms: [(Int, Double)], lower: Double? = nil,
                                       upper: Double? = nil) -> Int {
        constraints.append(Constraint(name: name, terms: terms, lower: lower, upper: upper))
        return constraints.count - 1
    }

    /// Every reason this program cannot be handed to a solver, or [] when it can.
    public func problems() -> [String] {
        var found: [String] = []
        for (j, v) in variables.enumerated() {
            if !v.objective.isFinite { found.append("variable \(j) '\(v.name)': objective \(v.objective) is not finite") }
            if let l = v.lower, !l.isFinite { found.append("variable '\(v.name)': lower bound \(l) is not finite") }
            if let u = v.upper, !u.isFinite { found.append("variable '\(v.name)': upper bound \(u) is not finite") }
            if let l = v.lower, let u = v.upper, l > u { found.append("variable '\(v.name)': lower bound \(l) > upper bound \(u)") }
        }
        for c in constraints {
            var seen = Set<Int>()
            for (j, a) in c.terms {
                if j < 0 || j >= variables.count { found.append("constraint '\(c.name)': variable index \(j) out of range") }
                if !a.isFinite { found.append("constraint '\(c.name)': coefficient \(a) is not finite") }
                if !seen.insert(j).inserted { found.append("constraint '\(c.name)': variable \(j) appears twice") }
            }
            if let l = c.lower, !l.isFinite { found.append("constraint '\(c.name)': lower bound is not finite") }
            if let u = c.upper, !u.isFinite { found.append("constraint '\(c.name)': upper bound is not finite") }
            if let l = c.lower, let u = c.upper, l > u { found.append("constraint '\(c.name)': lower bound \(l) > upper bound \(u)") }
        }
        return found
    }
}

/// What a solve ended with.
public enum SolveStatus: String, Sendable, Hashable, Codable {
    case optimal, infeasible, unbounded
    /// Stopped by a limit with a feasible, not proven optimal, point.
    case feasible
    /// The solver failed (numerical trouble, bad input); see `SolveResult.message`.
    case failed
}

public struct SolveResult: Sendable, Hashable {
    public var status: SolveStatus
    public var objective: Double?
    public var values: [Double]
    public var message: String?
    public init(status: SolveStatus, objective: Double?, values: [Double], message: String? = nil) {
        self.status = status
        self.objective = objective
        self.values = values
        self.message = message
    }
}

public protocol LinearProgramSolver: Sendable {
    func solve(_ program: LinearProgram) -> SolveResult
}
