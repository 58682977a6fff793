//! Linear systems with a weighted graph Laplacian plus a diagonal,
//! `B = Σ_e w_e (e_a − e_b)(e_a − e_b)ᵀ + diag(d)`, some nodes possibly held
//! at zero (their rows and columns dropped), solved without forming `B`.
//!
//! They are solved by conjugate gradients preconditioned with `T + D + O`:
//! `T` the Laplacian of a maximum-weight spanning forest, `D = diag(d)`, `O`
//! the diagonal of the pairs left out of the forest (each adds its weight to
//! both ends). A forest system is solved exactly in `O(n)` by eliminating
//! leaves towards the root; when the forest is the whole graph (a chain, a
//! tree, or a bootstrap replicate of one) `O = 0`, that elimination is the
//! solve and no iteration is needed. On well-mixed graphs the forest alone is
//! a poor preconditioner (hundreds of iterations on a random graph of 1,000
//! models); with `O` it behaves like a diagonal preconditioner there, since
//! `L ⪯ 2(T + O)`, and needs 15 to 30. Every product with `B` costs
//! `O(#edges + n)`, and nothing of size `n²` is ever stored.

use super::newton::dot;
use super::structure::find_root;

const NONE: usize = usize::MAX;

/// Relative residual `‖r‖ / ‖b‖` at which conjugate gradients stop.
const CG_TOLERANCE: f64 = 1e-12;
/// Most conjugate-gradient iterations per solve. The preconditioner needs
/// far fewer on the graphs met in practice; the cap only bounds the work on
/// pathological ones.
const CG_MAX_ITERATIONS: usize = 2000;

/// Result of one linear solve.
#[derive(Clone, Copy, Debug)]
pub(super) struct Solved {
    /// Products with the matrix used (0 for a direct forest solve).
    pub(super) iterations: usize,
    /// `‖b − B x‖ / ‖b‖` reached, or infinity if the solve broke down.
    pub(super) residual: f64,
}

impl Solved {
    /// The solve reached this relative residual (false for NaN too).
    pub(super) fn within(&self, tolerance: f64) -> bool {
        self.residual <= tolerance
    }
}

/// Scratch vectors for conjugate gradients, one set per thread.
pub(super) struct CgWork {
    r: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
    q: Vec<f64>,
}

impl CgWork {
    pub(super) fn new(n: usize) -> Self {
        Self {
            r: vec![0.0; n],
            z: vec![0.0; n],
            p: vec![0.0; n],
            q: vec![0.0; n],
        }
    }
}

/// The matrix `B = Σ_e w_e (e_a − e_b)(e_a − e_b)ᵀ + diag(d)` over `n`
/// nodes, in which some nodes may be held at zero (their rows and columns
/// dropped), with its spanning-forest preconditioner.
pub(super) struct System {
    ends: Vec<(usize, usize)>,
    weight: Vec<f64>,
    diag: Vec<f64>,
    /// Nodes held at zero (roots of the forest, once it is built).
    held: Vec<usize>,
    /// One node per connected part, and whether it is held at zero.
    roots: Vec<(usize, bool)>,
    forest: Option<Forest>,
    /// The last `set` factored the preconditioner.
    factored: bool,
}

/// A spanning forest in an order that puts every node after its parent,
/// with the factors of `T + D + O` by leaf elimination.
struct Forest {
    order: Vec<usize>,
    parent: Vec<usize>,
    parent_edge: Vec<usize>,
    /// `w(v, parent) / pivot_v`, zero at roots.
    ratio: Vec<f64>,
    /// `1 / pivot_v`, zero at held roots.
    inv_pivot: Vec<f64>,
    held: Vec<bool>,
    /// Edges left out of the forest.
    off: Vec<usize>,
    /// Every edge of the graph is in the forest: `T + D` is `B`.
    whole: bool,
}

impl System {
    /// `roots` must hold one node of every connected part of the graph
    /// (parts without a listed node get their own root, not held).
    pub(super) fn new(n: usize, ends: Vec<(usize, usize)>, roots: Vec<(usize, bool)>) -> Self {
        Self {
            weight: vec![0.0; ends.len()],
            diag: vec![0.0; n],
            ends,
            held: Vec::new(),
            roots,
            forest: None,
            factored: false,
        }
    }

    /// Sets the edge weights and the diagonal and refactors the
    /// preconditioner. The forest is chosen by the weights of the first
    /// call; later calls only reweight it, which keeps it exact where the
    /// graph is a forest and a good preconditioner elsewhere. False if a
    /// pivot is not positive (weights that underflowed to zero).
    pub(super) fn set(&mut self, weight: &[f64], diag: &[f64]) -> bool {
        self.weight.copy_from_slice(weight);
        self.diag.copy_from_slice(diag);
        if self.forest.is_none() {
            let forest = Forest::build(self.diag.len(), &self.ends, &self.weight, &self.roots);
            // Only a root can be held: a second listed node of the same part
            // is not, so that the matrix and its preconditioner agree.
            self.held = (0..forest.held.len()).filter(|&v| forest.held[v]).collect();
            self.forest = Some(forest);
        }
        self.factored = match &mut self.forest {
            Some(f) => f.factor(&self.weight, &self.diag, &self.ends),
            None => false,
        };
        self.factored
    }

    pub(super) fn is_forest(&self) -> bool {
        self.forest.as_ref().is_some_and(|f| f.whole)
    }

    /// `y = B x`, for `x` zero at held nodes.
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        for ((o, d), v) in y.iter_mut().zip(&self.diag).zip(x) {
            *o = d * v;
        }
        for (&(a, b), &w) in self.ends.iter().zip(&self.weight) {
            let t = w * (x[a] - x[b]);
            y[a] += t;
            y[b] -= t;
        }
        for &h in &self.held {
            y[h] = 0.0;
        }
    }

    /// Solves `B x = b` (rows of held nodes ignored, `x` zero there).
    pub(super) fn solve(&self, b: &[f64], x: &mut [f64], w: &mut CgWork) -> Solved {
        let broke = Solved {
            iterations: 0,
            residual: f64::INFINITY,
        };
        let Some(forest) = self.forest.as_ref().filter(|_| self.factored) else {
            return broke;
        };
        if forest.whole {
            x.copy_from_slice(b);
            forest.solve(x);
            let ok = x.iter().all(|v| v.is_finite());
            return Solved {
                iterations: 0,
                residual: if ok { 0.0 } else { f64::INFINITY },
            };
        }
        x.fill(0.0);
        w.r.copy_from_slice(b);
        for &h in &self.held {
            w.r[h] = 0.0;
        }
        let b_norm = dot(&w.r, &w.r).sqrt();
        if b_norm == 0.0 {
            return Solved {
                iterations: 0,
                residual: 0.0,
            };
        }
        if !b_norm.is_finite() {
            return broke;
        }
        w.z.copy_from_slice(&w.r);
        forest.solve(&mut w.z);
        w.p.copy_from_slice(&w.z);
        let mut rz = dot(&w.r, &w.z);
        let mut residual = 1.0;
        for it in 1..=CG_MAX_ITERATIONS {
            self.apply(&w.p, &mut w.q);
            let pq = dot(&w.p, &w.q);
            if !(pq > 0.0 && pq.is_finite() && rz.is_finite()) {
                // No further progress is possible; what was reached stands.
                return Solved {
                    iterations: it,
                    residual,
                };
            }
            let alpha = rz / pq;
            for ((xv, rv), (pv, qv)) in x.iter_mut().zip(w.r.iter_mut()).zip(w.p.iter().zip(&w.q)) {
                *xv += alpha * pv;
                *rv -= alpha * qv;
            }
            residual = dot(&w.r, &w.r).sqrt() / b_norm;
            if residual <= CG_TOLERANCE {
                return Solved {
                    iterations: it,
                    residual,
                };
            }
            w.z.copy_from_slice(&w.r);
            forest.solve(&mut w.z);
            let rz_next = dot(&w.r, &w.z);
            let beta = rz_next / rz;
            rz = rz_next;
            for (pv, zv) in w.p.iter_mut().zip(&w.z) {
                *pv = zv + beta * *pv;
            }
        }
        Solved {
            iterations: CG_MAX_ITERATIONS,
            residual,
        }
    }
}

impl Forest {
    /// Maximum-weight spanning forest (Kruskal; when no edge closes a cycle
    /// the graph is its own forest and no sorting is needed), laid out by
    /// breadth-first search from the given roots.
    fn build(n: usize, ends: &[(usize, usize)], weight: &[f64], roots: &[(usize, bool)]) -> Self {
        let mut parent_set: Vec<usize> = (0..n).collect();
        let mut chosen: Vec<usize> = Vec::with_capacity(n);
        let mut whole = true;
        for (e, &(a, b)) in ends.iter().enumerate() {
            if !union(&mut parent_set, a, b) {
                whole = false;
                break;
            }
            chosen.push(e);
        }
        if !whole {
            let mut by_weight: Vec<usize> = (0..ends.len()).collect();
            by_weight.sort_unstable_by(|&x, &y| weight[y].total_cmp(&weight[x]).then(x.cmp(&y)));
            parent_set.iter_mut().enumerate().for_each(|(v, p)| *p = v);
            chosen.clear();
            for e in by_weight {
                let (a, b) = ends[e];
                if union(&mut parent_set, a, b) {
                    chosen.push(e);
                }
            }
        }
        let mut in_forest = vec![false; ends.len()];
        for &e in &chosen {
            in_forest[e] = true;
        }
        let off = (0..ends.len()).filter(|&e| !in_forest[e]).collect();
        // Adjacency of the forest, compressed.
        let mut start = vec![0usize; n + 1];
        for &e in &chosen {
            let (a, b) = ends[e];
            start[a + 1] += 1;
            start[b + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut adjacent = vec![(0usize, 0usize); start[n]];
        for &e in &chosen {
            let (a, b) = ends[e];
            adjacent[fill[a]] = (b, e);
            fill[a] += 1;
            adjacent[fill[b]] = (a, e);
            fill[b] += 1;
        }
        let mut order = Vec::with_capacity(n);
        let mut parent = vec![NONE; n];
        let mut parent_edge = vec![NONE; n];
        let mut seen = vec![false; n];
        let mut held = vec![false; n];
        let starts = roots
            .iter()
            .copied()
            .filter(|r| r.0 < n)
            .chain((0..n).map(|v| (v, false)));
        for (root, is_held) in starts {
            if seen[root] {
                continue;
            }
            seen[root] = true;
            held[root] = is_held;
            let first = order.len();
            order.push(root);
            let mut next = first;
            while let Some(&u) = order.get(next) {
                next += 1;
                for &(v, e) in &adjacent[start[u]..start[u + 1]] {
                    if !seen[v] {
                        seen[v] = true;
                        parent[v] = u;
                        parent_edge[v] = e;
                        order.push(v);
                    }
                }
            }
        }
        Self {
            order,
            parent,
            parent_edge,
            ratio: vec![0.0; n],
            inv_pivot: vec![0.0; n],
            held,
            off,
            whole,
        }
    }

    /// Leaf elimination of `T + D + O`. Eliminating a leaf `v` with pivot
    /// `p_v = w_v + e_v` (edge weight to the parent plus what remains of its
    /// own diagonal) leaves its parent the diagonal share `w_v e_v / p_v`;
    /// tracking `e_v` rather than the full diagonal avoids the cancellation
    /// of `w_v − w_v² / p_v` when `D` is small.
    fn factor(&mut self, weight: &[f64], diag: &[f64], ends: &[(usize, usize)]) -> bool {
        let mut excess = diag.to_vec();
        for &e in &self.off {
            let (a, b) = ends[e];
            excess[a] += weight[e];
            excess[b] += weight[e];
        }
        for &v in self.order.iter().rev() {
            if self.held[v] {
                continue;
            }
            let p = self.parent[v];
            let up = if p == NONE {
                0.0
            } else {
                weight[self.parent_edge[v]]
            };
            let pivot = excess[v] + up;
            if !(pivot > 0.0 && pivot.is_finite()) {
                return false;
            }
            self.inv_pivot[v] = 1.0 / pivot;
            self.ratio[v] = up / pivot;
            if p != NONE {
                excess[p] += up * excess[v] / pivot;
            }
        }
        true
    }

    /// Solves `(T + D + O) x = b` in place.
    fn solve(&self, x: &mut [f64]) {
        for &v in self.order.iter().rev() {
            let p = self.parent[v];
            if p != NONE {
                x[p] += self.ratio[v] * x[v];
            }
        }
        for &v in &self.order {
            let p = self.parent[v];
            let from_parent = if p == NONE { 0.0 } else { x[p] };
            x[v] = x[v] * self.inv_pivot[v] + self.ratio[v] * from_parent;
        }
    }
}

/// Joins the sets of `a` and `b`; false if they were already one.
fn union(parent: &mut [usize], a: usize, b: usize) -> bool {
    let ra = find_root(parent, a);
    let rb = find_root(parent, b);
    if ra == rb {
        return false;
    }
    parent[ra.max(rb)] = ra.min(rb);
    true
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::rating::bt::dense::{cholesky, cholesky_solve};

    /// `B x = b` by a dense Cholesky factor, with held nodes dropped.
    fn dense_solve(
        n: usize,
        ends: &[(usize, usize)],
        weight: &[f64],
        diag: &[f64],
        held: &[usize],
        b: &[f64],
    ) -> Vec<f64> {
        let mut a = vec![0.0; n * n];
        for (v, d) in diag.iter().enumerate() {
            a[v * n + v] += d;
        }
        for (&(x, y), &w) in ends.iter().zip(weight) {
            let (hi, lo) = (x.max(y), x.min(y));
            a[x * n + x] += w;
            a[y * n + y] += w;
            a[hi * n + lo] -= w;
        }
        let mut rhs = b.to_vec();
        for &h in held {
            // Row and column of a held node become the identity.
            for u in 0..n {
                a[h.max(u) * n + h.min(u)] = 0.0;
            }
            a[h * n + h] = 1.0;
            rhs[h] = 0.0;
        }
        assert!(cholesky(&mut a, n));
        cholesky_solve(&a, n, &mut rhs);
        rhs
    }

    fn check(
        n: usize,
        ends: Vec<(usize, usize)>,
        diag: Vec<f64>,
        roots: Vec<(usize, bool)>,
        seed: u64,
    ) -> Solved {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let weight: Vec<f64> = ends.iter().map(|_| rng.random_range(0.01..50.0)).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let held: Vec<usize> = roots.iter().filter(|r| r.1).map(|r| r.0).collect();
        let mut system = System::new(n, ends.clone(), roots);
        assert!(system.set(&weight, &diag));
        let mut x = vec![0.0; n];
        let solved = system.solve(&b, &mut x, &mut CgWork::new(n));
        let want = dense_solve(n, &ends, &weight, &diag, &held, &b);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (v, (got, want)) in x.iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-9 * scale,
                "node {v}: {got} vs {want}"
            );
        }
        for &h in &held {
            assert_eq!(x[h], 0.0);
        }
        solved
    }

    fn random_tree(rng: &mut ChaCha8Rng, n: usize) -> Vec<(usize, usize)> {
        (1..n).map(|v| (rng.random_range(0..v), v)).collect()
    }

    #[test]
    fn a_forest_is_solved_directly_and_exactly() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 60;
        // Two trees: nodes 0..40 with a held root, 40..60 with a diagonal.
        let mut ends = random_tree(&mut rng, 40);
        ends.extend(
            random_tree(&mut rng, 20)
                .into_iter()
                .map(|(a, b)| (a + 40, b + 40)),
        );
        let diag: Vec<f64> = (0..n).map(|v| if v < 40 { 0.0 } else { 1e-3 }).collect();
        let solved = check(n, ends, diag, vec![(7, true), (45, false)], 2);
        assert_eq!(solved.iterations, 0);
        assert_eq!(solved.residual, 0.0);
    }

    #[test]
    fn a_graph_with_cycles_is_solved_by_conjugate_gradients() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 80;
        let mut ends = random_tree(&mut rng, n);
        for _ in 0..150 {
            let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
            if a != b {
                ends.push((a, b));
            }
        }
        let held = check(n, ends.clone(), vec![0.0; n], vec![(0, true)], 4);
        assert!(held.iterations > 0 && held.within(CG_TOLERANCE));
        let diag: Vec<f64> = (0..n).map(|v| 0.05 * (v % 3) as f64).collect();
        let ridged = check(n, ends, diag, vec![(0, false)], 5);
        assert!(ridged.within(CG_TOLERANCE));
    }

    #[test]
    fn zero_weights_are_refused_not_divided_by() {
        let mut system = System::new(3, vec![(0, 1), (1, 2)], vec![(0, true)]);
        assert!(!system.set(&[1.0, 0.0], &[0.0; 3]));
        let mut x = vec![0.0; 3];
        let solved = system.solve(&[1.0, -1.0, 0.0], &mut x, &mut CgWork::new(3));
        assert!(!solved.within(1.0));
    }
}
