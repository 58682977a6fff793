//! Graph structure: connected groups, strongly connected components, which
//! groups need virtual votes, which ratings are unbounded, and the notes that
//! describe all of it.

use super::PRIOR_VOTES;
use super::input::Pair;

/// Connectivity facts that decide centring, regularisation and flags.
pub(super) struct Structure {
    pub(super) component: Vec<usize>,
    pub(super) members: Vec<Vec<usize>>,
    /// Per group: the MLE does not exist, virtual votes are added.
    pub(super) regularised: Vec<bool>,
    pub(super) above: Vec<bool>,
    pub(super) below: Vec<bool>,
}

impl Structure {
    pub(super) fn analyse(k: usize, pairs: &[Pair]) -> Self {
        let mut parent: Vec<usize> = (0..k).collect();
        for p in pairs {
            let a = find_root(&mut parent, p.i);
            let b = find_root(&mut parent, p.j);
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        let mut label = vec![usize::MAX; k];
        let mut members: Vec<Vec<usize>> = Vec::new();
        let component: Vec<usize> = (0..k)
            .map(|v| {
                let root = find_root(&mut parent, v);
                if label[root] == usize::MAX {
                    label[root] = members.len();
                    members.push(Vec::new());
                }
                members[label[root]].push(v);
                label[root]
            })
            .collect();

        let graph = ScoreGraph::new(k, pairs);
        let scc = graph.strong_components();
        let n_scc = scc.iter().map(|s| s + 1).max().unwrap_or(0);
        let mut scc_size = vec![0usize; n_scc];
        for &s in &scc {
            scc_size[s] += 1;
        }
        let mut has_in = vec![false; n_scc];
        let mut has_out = vec![false; n_scc];
        for u in 0..k {
            for &v in graph.out(u) {
                if scc[u] != scc[v] {
                    has_out[scc[u]] = true;
                    has_in[scc[v]] = true;
                }
            }
        }

        let mut regularised = vec![false; members.len()];
        let mut above = vec![false; k];
        let mut below = vec![false; k];
        for (g, group) in members.iter().enumerate() {
            let first = scc[group[0]];
            if group.iter().all(|&v| scc[v] == first) {
                continue;
            }
            regularised[g] = true;
            let mut sizes: Vec<(usize, usize)> =
                group.iter().map(|&v| (scc_size[scc[v]], scc[v])).collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            sizes.dedup();
            let reference = match sizes.as_slice() {
                [first, second, ..] if first.0 > second.0 => Some(first.1),
                _ => None,
            };
            for &v in group {
                let s = scc[v];
                if Some(s) == reference {
                    continue;
                }
                above[v] = !has_in[s] || has_out[s];
                below[v] = !has_out[s] || has_in[s];
            }
        }
        Self {
            component,
            members,
            regularised,
            above,
            below,
        }
    }

    fn group_of_size_one(&self, v: usize) -> bool {
        self.members[self.component[v]].len() == 1
    }
}

/// The scoring edges of the full data, to tell quickly whether a bootstrap
/// replicate, which can only lose edges, keeps the full data's structure.
pub(super) struct ScoreEdges {
    out_start: Vec<usize>,
    out_list: Vec<Edge>,
    in_start: Vec<usize>,
    in_list: Vec<Edge>,
}

/// An edge to (or from) `node`, alive while its side of pair `pair` scores.
#[derive(Clone, Copy)]
struct Edge {
    node: usize,
    pair: usize,
    /// The scorer is the pair's `i` (else its `j`).
    by_i: bool,
}

/// Search buffers for [`ScoreEdges::keeps`], reused across replicates.
pub(super) struct Reach {
    seen: Vec<bool>,
    stack: Vec<usize>,
    visited: Vec<usize>,
}

impl Reach {
    pub(super) fn new(k: usize) -> Self {
        Self {
            seen: vec![false; k],
            stack: Vec::new(),
            visited: Vec::new(),
        }
    }
}

impl ScoreEdges {
    pub(super) fn new(k: usize, pairs: &[Pair]) -> Self {
        let mut edges: Vec<(usize, usize, usize, bool)> = Vec::with_capacity(2 * pairs.len());
        for (x, p) in pairs.iter().enumerate() {
            if p.wins_i + p.ties > 0.0 {
                edges.push((p.i, p.j, x, true));
            }
            if p.wins_j + p.ties > 0.0 {
                edges.push((p.j, p.i, x, false));
            }
        }
        let (out_start, out_list) = compress_edges(k, &edges, false);
        let (in_start, in_list) = compress_edges(k, &edges, true);
        Self {
            out_start,
            out_list,
            in_start,
            in_list,
        }
    }

    /// Whether a replicate with `counts[pair] = [wins_i, wins_j, ties]` has
    /// the same [`Structure`] as the full data, `full`: every group that was
    /// strongly connected still is (then it is still connected, and its MLE
    /// still exists), and a regularised group kept all its edges. False is
    /// not a verdict: the replicate must then be analysed.
    pub(super) fn keeps(&self, full: &Structure, counts: &[[f64; 3]], reach: &mut Reach) -> bool {
        let alive = |e: &Edge| {
            let c = &counts[e.pair];
            (if e.by_i { c[0] } else { c[1] }) + c[2] > 0.0
        };
        for (g, group) in full.members.iter().enumerate() {
            let Some(&root) = group.first() else {
                continue;
            };
            if group.len() < 2 {
                continue;
            }
            if full.regularised[g] {
                let all = group.iter().all(|&v| {
                    self.out_list[self.out_start[v]..self.out_start[v + 1]]
                        .iter()
                        .all(alive)
                });
                if !all {
                    return false;
                }
                continue;
            }
            // A model that only won or only lost in the replicate: not strongly connected.
            if group
                .iter()
                .any(|&v| self.live_ways(v, &alive) != (true, true))
            {
                return false;
            }
            for forward in [true, false] {
                let found = self.reach_all(forward, root, group.len(), group, &alive, reach);
                if found < group.len() {
                    return false;
                }
            }
        }
        true
    }
}

impl ScoreEdges {
    /// The replicate's groups and their regularisation, found by searches
    /// from one member of each group, when they are the full data's groups
    /// less models that lost all their votes (each then alone): `None` when
    /// a group split otherwise, and the replicate must be analysed. A
    /// regularised group loses an edge in almost every replicate, so this
    /// spares most of them the whole analysis. Only the fields the refits
    /// read are set: `above` and `below` are all false.
    pub(super) fn nested(
        &self,
        full: &Structure,
        counts: &[[f64; 3]],
        reach: &mut Reach,
    ) -> Option<Structure> {
        let k = full.component.len();
        let alive = |e: &Edge| {
            let c = &counts[e.pair];
            (if e.by_i { c[0] } else { c[1] }) + c[2] > 0.0
        };
        let mut regularised_full = vec![false; full.members.len()];
        let mut has_votes = vec![false; k];
        for (g, group) in full.members.iter().enumerate() {
            let mut live = 0;
            let mut root = None;
            // A model that only won or only lost (a live edge one way alone) shows
            // at once that the group is not strongly connected.
            let mut one_way = false;
            for &v in group {
                let (out, inc) = self.live_ways(v, &alive);
                if out || inc {
                    has_votes[v] = true;
                    live += 1;
                    root.get_or_insert(v);
                    one_way |= !(out && inc);
                }
            }
            let Some(root) = root else {
                continue;
            };
            if self.connected(root, live, group, &alive, reach) < live {
                return None;
            }
            regularised_full[g] = one_way
                || self.reach_all(true, root, live, group, &alive, reach) < live
                || self.reach_all(false, root, live, group, &alive, reach) < live;
        }
        let mut label = vec![usize::MAX; full.members.len()];
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut regularised = Vec::new();
        let component = (0..k)
            .map(|v| {
                let g = full.component[v];
                if has_votes[v] {
                    if label[g] == usize::MAX {
                        label[g] = members.len();
                        members.push(Vec::new());
                        regularised.push(regularised_full[g]);
                    }
                    members[label[g]].push(v);
                    label[g]
                } else {
                    members.push(vec![v]);
                    regularised.push(false);
                    members.len() - 1
                }
            })
            .collect();
        Some(Structure {
            component,
            members,
            regularised,
            above: vec![false; k],
            below: vec![false; k],
        })
    }

    /// Whether `v` has a live edge out, and one in.
    fn live_ways(&self, v: usize, alive: &impl Fn(&Edge) -> bool) -> (bool, bool) {
        (
            self.out_list[self.out_start[v]..self.out_start[v + 1]]
                .iter()
                .any(alive),
            self.in_list[self.in_start[v]..self.in_start[v + 1]]
                .iter()
                .any(alive),
        )
    }

    /// How many nodes a search from `root` along live edges of either
    /// direction reaches, stopping at `want`; `members`: the nodes it may
    /// reach.
    fn connected(
        &self,
        root: usize,
        want: usize,
        members: &[usize],
        alive: &impl Fn(&Edge) -> bool,
        r: &mut Reach,
    ) -> usize {
        let both = |u: usize| {
            self.out_list[self.out_start[u]..self.out_start[u + 1]]
                .iter()
                .chain(&self.in_list[self.in_start[u]..self.in_start[u + 1]])
        };
        search(root, want, members, both, both, alive, r)
    }

    /// How many nodes a search from `root` along live edges reaches, forward
    /// (along `out`) or backward, stopping at `want`; `members`: the nodes
    /// it may reach.
    fn reach_all(
        &self,
        forward: bool,
        root: usize,
        want: usize,
        members: &[usize],
        alive: &impl Fn(&Edge) -> bool,
        r: &mut Reach,
    ) -> usize {
        let out = |u: usize| self.out_list[self.out_start[u]..self.out_start[u + 1]].iter();
        let inc = |u: usize| self.in_list[self.in_start[u]..self.in_start[u + 1]].iter();
        if forward {
            search(root, want, members, out, inc, alive, r)
        } else {
            search(root, want, members, inc, out, alive, r)
        }
    }
}

/// Members left unreached below which [`search`] also looks bottom-up.
const FEW_LEFT: usize = 16;

/// How many nodes a search from `root` along live edges reaches, stopping
/// as soon as it has `want` (in a dense group, after a few nodes' lists).
/// `down(u)`: the edges from `u`; `up(v)`: the edges into `v` (each edge's
/// `node` is its other end). Once no more than [`FEW_LEFT`] of `members`
/// are left, each unreached member's edges in are also looked at, and it is
/// reached from a node already reached: the last few are often models of
/// one or two votes, whose one edge the search from the top finds only
/// after going through nearly every other node's list.
fn search<'e, D, DI, U, UI>(
    root: usize,
    want: usize,
    members: &[usize],
    down: D,
    up: U,
    alive: &impl Fn(&Edge) -> bool,
    r: &mut Reach,
) -> usize
where
    D: Fn(usize) -> DI,
    DI: Iterator<Item = &'e Edge>,
    U: Fn(usize) -> UI,
    UI: Iterator<Item = &'e Edge>,
{
    r.stack.clear();
    r.visited.clear();
    r.seen[root] = true;
    r.visited.push(root);
    r.stack.push(root);
    // The number reached when the members were last looked at from below.
    let mut looked = usize::MAX;
    'search: while r.visited.len() < want {
        if want - r.visited.len() <= FEW_LEFT && looked != r.visited.len() {
            looked = r.visited.len();
            for &v in members {
                if !r.seen[v] && up(v).any(|e| r.seen[e.node] && alive(e)) {
                    r.seen[v] = true;
                    r.visited.push(v);
                    r.stack.push(v);
                    if r.visited.len() >= want {
                        break 'search;
                    }
                }
            }
        }
        let Some(u) = r.stack.pop() else {
            break;
        };
        for e in down(u) {
            if !r.seen[e.node] && alive(e) {
                r.seen[e.node] = true;
                r.visited.push(e.node);
                if r.visited.len() >= want {
                    break 'search;
                }
                r.stack.push(e.node);
            }
        }
    }
    for &v in &r.visited {
        r.seen[v] = false;
    }
    r.visited.len()
}

/// Adjacency lists of `(from, to, pair, by_i)` edges by `from`, or by `to`
/// when `reverse`.
fn compress_edges(
    k: usize,
    edges: &[(usize, usize, usize, bool)],
    reverse: bool,
) -> (Vec<usize>, Vec<Edge>) {
    let ends = |&(u, v, pair, by_i): &(usize, usize, usize, bool)| {
        if reverse {
            (
                v,
                Edge {
                    node: u,
                    pair,
                    by_i,
                },
            )
        } else {
            (
                u,
                Edge {
                    node: v,
                    pair,
                    by_i,
                },
            )
        }
    };
    let mut start = vec![0usize; k + 1];
    for e in edges {
        start[ends(e).0 + 1] += 1;
    }
    for u in 0..k {
        start[u + 1] += start[u];
    }
    let mut fill = start.clone();
    let mut list = vec![
        Edge {
            node: 0,
            pair: 0,
            by_i: false,
        };
        edges.len()
    ];
    for e in edges {
        let (from, edge) = ends(e);
        list[fill[from]] = edge;
        fill[from] += 1;
    }
    (start, list)
}

pub(super) fn find_root(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Directed graph with an edge `u → v` when `u` scored against `v` (a win or
/// a tie), stored as compressed adjacency lists in both directions.
struct ScoreGraph {
    out_start: Vec<usize>,
    out_list: Vec<usize>,
    in_start: Vec<usize>,
    in_list: Vec<usize>,
}

impl ScoreGraph {
    fn new(k: usize, pairs: &[Pair]) -> Self {
        let mut edges: Vec<(usize, usize)> = Vec::with_capacity(2 * pairs.len());
        for p in pairs {
            if p.wins_i + p.ties > 0.0 {
                edges.push((p.i, p.j));
            }
            if p.wins_j + p.ties > 0.0 {
                edges.push((p.j, p.i));
            }
        }
        let (out_start, out_list) = compress(k, edges.iter().copied());
        let (in_start, in_list) = compress(k, edges.iter().map(|&(u, v)| (v, u)));
        Self {
            out_start,
            out_list,
            in_start,
            in_list,
        }
    }

    fn out(&self, u: usize) -> &[usize] {
        &self.out_list[self.out_start[u]..self.out_start[u + 1]]
    }

    fn incoming(&self, u: usize) -> &[usize] {
        &self.in_list[self.in_start[u]..self.in_start[u + 1]]
    }

    /// Strongly connected component of every node (two-pass depth-first
    /// search, iterative so that no input can exhaust the stack).
    fn strong_components(&self) -> Vec<usize> {
        let k = self.out_start.len() - 1;
        let mut visited = vec![false; k];
        let mut order = Vec::with_capacity(k);
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for s in 0..k {
            if visited[s] {
                continue;
            }
            visited[s] = true;
            stack.push((s, 0));
            while let Some(top) = stack.last_mut() {
                let u = top.0;
                let next = self.out(u).get(top.1).copied();
                match next {
                    Some(v) => {
                        top.1 += 1;
                        if !visited[v] {
                            visited[v] = true;
                            stack.push((v, 0));
                        }
                    }
                    None => {
                        order.push(u);
                        stack.pop();
                    }
                }
            }
        }
        let mut scc = vec![usize::MAX; k];
        let mut count = 0;
        let mut todo = Vec::new();
        for &s in order.iter().rev() {
            if scc[s] != usize::MAX {
                continue;
            }
            scc[s] = count;
            todo.push(s);
            while let Some(u) = todo.pop() {
                for &v in self.incoming(u) {
                    if scc[v] == usize::MAX {
                        scc[v] = count;
                        todo.push(v);
                    }
                }
            }
            count += 1;
        }
        scc
    }
}

fn compress(
    k: usize,
    edges: impl Iterator<Item = (usize, usize)> + Clone,
) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; k + 1];
    for (u, _) in edges.clone() {
        start[u + 1] += 1;
    }
    for u in 0..k {
        start[u + 1] += start[u];
    }
    let mut fill = start.clone();
    let mut list = vec![0usize; start[k]];
    for (u, v) in edges {
        list[fill[u]] = v;
        fill[u] += 1;
    }
    (start, list)
}

/// Most items a note lists; the rest are counted.
const LISTED: usize = 10;

/// Models by name where known, else by index: the first [`LISTED`], then
/// how many more.
fn list(models: &[usize], names: &[String]) -> String {
    capped(
        models
            .iter()
            .map(|&m| names.get(m).cloned().unwrap_or_else(|| format!("#{m}"))),
        models.len(),
    )
}

/// The first [`LISTED`] of `len` items, comma-separated, then "and N more".
fn capped(items: impl Iterator<Item = String>, len: usize) -> String {
    let shown: Vec<String> = items.take(LISTED).collect();
    let text = shown.join(", ");
    match len.checked_sub(shown.len()) {
        Some(rest) if rest > 0 => format!("{text} and {rest} more"),
        _ => text,
    }
}

/// Notes on the structure. `virtual_votes`: diverging groups get virtual tied votes (else
/// a ridge on every strength keeps them finite, as in FastChat's style control).
pub(super) fn describe(
    k: usize,
    total: f64,
    s: &Structure,
    names: &[String],
    virtual_votes: bool,
    notes: &mut Vec<String>,
) {
    if k == 0 {
        notes.push("no models".to_string());
        return;
    }
    if k == 1 {
        notes.push(
            "a single model: it sits at the base rating with a zero-width interval".to_string(),
        );
        return;
    }
    if total <= 0.0 {
        notes.push(
            "no decided votes: every model sits at the base rating with a zero-width interval"
                .to_string(),
        );
        return;
    }
    let idle: Vec<usize> = (0..k).filter(|&v| s.group_of_size_one(v)).collect();
    if !idle.is_empty() {
        notes.push(format!(
            "models without any decided vote sit at the base rating with a zero-width interval, which carries no information: {}",
            list(&idle, names)
        ));
    }
    let groups: Vec<usize> = s.members.iter().map(Vec::len).filter(|&n| n > 1).collect();
    if groups.len() > 1 {
        notes.push(format!(
            "the comparison graph splits into {} separate groups of sizes {}; each group is centred on its own, so ratings from different groups are not comparable: ranks count within each group (see `group`)",
            groups.len(),
            capped(groups.iter().map(usize::to_string), groups.len()),
        ));
    }
    for (g, group) in s.members.iter().enumerate() {
        if !s.regularised[g] {
            continue;
        }
        let up: Vec<usize> = group.iter().copied().filter(|&v| s.above[v]).collect();
        let down: Vec<usize> = group.iter().copied().filter(|&v| s.below[v]).collect();
        let mut open = Vec::new();
        if !up.is_empty() {
            open.push(format!("no upper limit for {}", list(&up, names)));
        }
        if !down.is_empty() {
            open.push(format!("no lower limit for {}", list(&down, names)));
        }
        let bounds = if open.is_empty() {
            String::new()
        } else {
            format!(" The data give {}.", open.join(" and "))
        };
        let remedy = if virtual_votes {
            format!(
                "each of them gets {PRIOR_VOTES} virtual tied vote against the group average to keep ratings finite"
            )
        } else {
            "only the ridge on the strengths keeps their ratings finite".to_string()
        };
        notes.push(format!(
            "among {} some models were never beaten by (or never beat) the others, so maximum-likelihood ratings diverge; {remedy}.{bounds}",
            list(group, names),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::bt::input::canonical_pairs;
    use crate::rating::bt::tests::arb_cells;
    use crate::rating::bt::{Comparisons, tests::cell};
    use proptest::prelude::*;

    fn same(a: &Structure, b: &Structure) -> bool {
        a.component == b.component
            && a.members == b.members
            && a.regularised == b.regularised
            && a.above == b.above
            && a.below == b.below
    }

    /// The pairs' counts with the outcomes whose bit in `mask` is set taken
    /// away, as a bootstrap replicate may do.
    fn thinned(pairs: &[Pair], mask: u64) -> Vec<[f64; 3]> {
        pairs
            .iter()
            .enumerate()
            .map(|(x, p)| {
                let gone = |o: usize| mask >> ((3 * x + o) % 64) & 1 == 1;
                let keep = |o: usize, v: f64| if gone(o) { 0.0 } else { v };
                [keep(0, p.wins_i), keep(1, p.wins_j), keep(2, p.ties)]
            })
            .collect()
    }

    fn analyse_counts(k: usize, pairs: &[Pair], counts: &[[f64; 3]]) -> Structure {
        let kept: Vec<Pair> = pairs
            .iter()
            .zip(counts)
            .map(|(p, c)| Pair::new(p.i, p.j, c[0], c[1], c[2]))
            .filter(|p| p.n > 0.0)
            .collect();
        Structure::analyse(k, &kept)
    }

    #[test]
    fn a_replicate_that_loses_edges_keeps_or_changes_the_structure() {
        // Four models that all beat each other both ways, and a fifth that
        // only ever won: the first group stays strongly connected after
        // losing one direction of one pair, not after losing both of 3's.
        let mut cells: Vec<_> = (0..4)
            .flat_map(|i| (i + 1..4).map(move |j| cell(i, j, 3.0, 2.0, 0.0)))
            .collect();
        cells.push(cell(4, 0, 2.0, 0.0, 0.0));
        let c = Comparisons {
            names: Vec::new(),
            n_models: 5,
            cells,
        };
        let pairs = canonical_pairs(&c, &mut Vec::new());
        let full = Structure::analyse(5, &pairs);
        assert!(full.regularised.iter().any(|&r| r));
        let edges = ScoreEdges::new(5, &pairs);
        let mut reach = Reach::new(5);
        let all: Vec<[f64; 3]> = pairs.iter().map(|p| [p.wins_i, p.wins_j, p.ties]).collect();
        assert!(edges.keeps(&full, &all, &mut reach));
        // The group is regularised (model 4), so any lost edge counts.
        let mut one = all.clone();
        one[0][1] = 0.0;
        assert!(!edges.keeps(&full, &one, &mut reach));

        // Without model 4 the group is strongly connected and not
        // regularised.
        let c = Comparisons {
            n_models: 4,
            cells: c.cells[..6].to_vec(),
            names: Vec::new(),
        };
        let pairs = canonical_pairs(&c, &mut Vec::new());
        let full = Structure::analyse(4, &pairs);
        let edges = ScoreEdges::new(4, &pairs);
        let mut reach = Reach::new(4);
        let mut counts: Vec<[f64; 3]> =
            pairs.iter().map(|p| [p.wins_i, p.wins_j, p.ties]).collect();
        counts[0][1] = 0.0;
        assert!(edges.keeps(&full, &counts, &mut reach));
        assert!(same(&full, &analyse_counts(4, &pairs, &counts)));
        // Model 3 never beaten: 3 is in pairs 2 (0–3), 4 (1–3) and 5 (2–3).
        for x in [2, 4, 5] {
            counts[x][0] = 0.0;
        }
        assert!(!edges.keeps(&full, &counts, &mut reach));
        assert!(!same(&full, &analyse_counts(4, &pairs, &counts)));
    }

    #[test]
    fn a_replicate_that_lost_a_one_vote_model_is_built_without_analysis() {
        // Four models beating each other both ways, a fifth with one win:
        // the group is regularised. A replicate without that win has the
        // four as a group (no longer regularised) and the fifth alone; one
        // that also lost every 0–1 vote between 0 and 1 in one direction is
        // still one group, now split in strong components.
        let mut cells: Vec<_> = (0..4)
            .flat_map(|i| (i + 1..4).map(move |j| cell(i, j, 3.0, 2.0, 0.0)))
            .collect();
        cells.push(cell(4, 0, 1.0, 0.0, 0.0));
        let c = Comparisons {
            names: Vec::new(),
            n_models: 5,
            cells,
        };
        let pairs = canonical_pairs(&c, &mut Vec::new());
        let full = Structure::analyse(5, &pairs);
        let edges = ScoreEdges::new(5, &pairs);
        let mut reach = Reach::new(5);
        let mut counts: Vec<[f64; 3]> =
            pairs.iter().map(|p| [p.wins_i, p.wins_j, p.ties]).collect();
        let fifth = pairs.iter().position(|p| p.j == 4).expect("pair 0-4");
        counts[fifth] = [0.0; 3];
        let nested = edges.nested(&full, &counts, &mut reach).expect("nested");
        let analysed = analyse_counts(5, &pairs, &counts);
        assert_eq!(nested.members, vec![vec![0, 1, 2, 3], vec![4]]);
        assert_eq!(nested.members, analysed.members);
        assert_eq!(nested.regularised, vec![false, false]);
        assert_eq!(nested.regularised, analysed.regularised);
        // Model 0 never beaten by 1, 2 or 3.
        for (x, p) in pairs.iter().enumerate() {
            if p.i == 0 && p.j < 4 {
                counts[x][1] = 0.0;
            }
        }
        let nested = edges.nested(&full, &counts, &mut reach).expect("nested");
        assert_eq!(nested.regularised, vec![true, false]);
        assert!(same_groups(&nested, &analyse_counts(5, &pairs, &counts)));
    }

    fn same_groups(a: &Structure, b: &Structure) -> bool {
        a.component == b.component && a.members == b.members && a.regularised == b.regularised
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// When the quick check says the structure is kept, a new analysis
        /// finds exactly the full data's.
        #[test]
        fn a_kept_structure_is_the_full_datas(
            (k, cells) in arb_cells(),
            a in any::<u64>(),
            b in any::<u64>(),
        ) {
            let c = Comparisons { names: Vec::new(), n_models: k, cells };
            let pairs = canonical_pairs(&c, &mut Vec::new());
            let full = Structure::analyse(k, &pairs);
            let edges = ScoreEdges::new(k, &pairs);
            let mut reach = Reach::new(k);
            let all: Vec<[f64; 3]> = pairs.iter().map(|p| [p.wins_i, p.wins_j, p.ties]).collect();
            prop_assert!(edges.keeps(&full, &all, &mut reach));
            // A quarter of the outcomes lose all their votes.
            let counts = thinned(&pairs, a & b);
            let kept = edges.keeps(&full, &counts, &mut reach);
            let again = same(&full, &analyse_counts(k, &pairs, &counts));
            if kept {
                prop_assert!(again);
            }
            // Without regularised groups the check is exact both ways.
            if !full.regularised.iter().any(|&r| r) {
                prop_assert_eq!(kept, again);
            }
            // Where the quick construction answers, it is the analysis's.
            if let Some(nested) = edges.nested(&full, &counts, &mut reach) {
                let analysed = analyse_counts(k, &pairs, &counts);
                prop_assert_eq!(&nested.component, &analysed.component);
                prop_assert_eq!(&nested.members, &analysed.members);
                prop_assert_eq!(&nested.regularised, &analysed.regularised);
            }
        }
    }
}
