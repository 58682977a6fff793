//! Graph structure: connected groups, strongly connected components, which
//! groups need virtual votes, which ratings are unbounded, and the notes that
//! describe all of it.

use super::input::Pair;
use super::{PRIOR_VOTES, UNBOUNDED_MARGIN};

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

pub(super) fn describe(
    k: usize,
    total: f64,
    s: &Structure,
    names: &[String],
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
            "the comparison graph splits into {} separate groups of sizes {}; each group is centred on its own, so ratings from different groups are not comparable (see `component`)",
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
            format!(
                " The data give {}: those bounds are reported as the rating ± {UNBOUNDED_MARGIN}.",
                open.join(" and ")
            )
        };
        notes.push(format!(
            "among {} some models were never beaten by (or never beat) the others, so maximum-likelihood ratings diverge; each of them gets {PRIOR_VOTES} virtual tied vote against the group average to keep ratings finite.{bounds}",
            list(group, names),
        ));
    }
}
