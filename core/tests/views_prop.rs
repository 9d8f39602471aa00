//! Property tests for views (RULES.md §1–3).
//!
//! A random root tensor is filled with distinct values (the element at
//! C-order position `i` holds `i`), then random chains of view operations are
//! applied. Beside every view the test keeps an independent reference model:
//! for each element of the view (in C order), the C-order position of the
//! ROOT element it must be. The model is built with plain index arithmetic
//! and Python slicing semantics written out here; nothing from
//! `dlview::layout` is used to compute an expectation.
//!
//! After every step the view is checked against the model: every element
//! address, every value (`get_f64`), the contiguity flags against a
//! brute-force definition, the writeable rules, OWNDATA and `base()`, bounds
//! errors, writes reaching the root, `shares_memory` / `may_share_memory`
//! against brute-force address-set and byte-range intersections, and copies
//! (`copy` in C/F/K order, `astype`, `reshape` under each copy policy). Invalid parameters are generated too: the model predicts
//! the error, and the library must return exactly that error.

use dlview::__private::live_count;
use dlview::tensor::flags;
use dlview::{CopyMode, DType, Error, Order, Tensor};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// `live_count()` is process-global: every test in this file that allocates
/// holds this lock, so the count it sees changes only by its own doing.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Views larger than this are not built (broadcasting and sliding windows
/// multiply sizes); the step is skipped instead.
const CAP: usize = 8000;

/// A value no root element holds (roots have fewer than `CAP` elements).
const MARKER: f64 = 9999.0;

// ---- index arithmetic, written out independently of dlview::layout --------

fn numel(shape: &[i64]) -> usize {
    shape.iter().map(|&n| n as usize).product()
}

/// Multi-index of C-order position `k` (requires a non-empty shape).
fn unravel_c(mut k: usize, shape: &[i64]) -> Vec<i64> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        let n = shape[d] as usize;
        idx[d] = (k % n) as i64;
        k /= n;
    }
    idx
}

fn ravel_c(idx: &[i64], shape: &[i64]) -> usize {
    idx.iter()
        .zip(shape)
        .fold(0, |acc, (&i, &n)| acc * n as usize + i as usize)
}

/// Fortran-order position of a multi-index.
fn ravel_f(idx: &[i64], shape: &[i64]) -> usize {
    idx.iter()
        .zip(shape)
        .rev()
        .fold(0, |acc, (&i, &n)| acc * n as usize + i as usize)
}

fn dot(a: &[i64], b: &[i64]) -> i64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Python tuple repr, as the library's messages print shapes.
fn tuple(d: &[i64]) -> String {
    match d {
        [] => "()".into(),
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's slice semantics (the language reference, "Slicings", and
/// `slice.indices`): negative bounds count from the end, out-of-range bounds
/// clamp, omitted bounds are the ends the step's sign implies. Returns the
/// selected indices of `range(len)`, in order.
fn py_slice(len: i64, start: Option<i64>, stop: Option<i64>, step: i64) -> Vec<i64> {
    assert_ne!(step, 0);
    let (lo, hi) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let adjust = |b: Option<i64>, default: i64| match b {
        None => default,
        Some(b) if b < 0 => (b + len).max(lo),
        Some(b) => b.min(hi),
    };
    let start = adjust(start, if step > 0 { lo } else { hi });
    let stop = adjust(stop, if step > 0 { hi } else { lo });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        i += step;
    }
    out
}

/// A tiny deterministic generator for choices that depend on the current
/// shape (permutations, reshape targets).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn normalize(axis: i64, ndim: usize) -> Option<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    (0..n).contains(&a).then_some(a as usize)
}

fn axis_error(axis: i64, ndim: usize) -> Expect {
    Expect::Invalid(format!(
        "axis {axis} is out of bounds for tensor of dimension {ndim}"
    ))
}

fn has_duplicates(map: &[usize]) -> bool {
    let mut seen = HashSet::with_capacity(map.len());
    !map.iter().all(|x| seen.insert(*x))
}

// ---- the root and the reference model --------------------------------------

struct Root {
    t: Tensor,
    shape: Vec<i64>,
    item: i64,
    base: i64,
    /// Element offset from the root's data pointer of each C-order position.
    mem_of_flat: Vec<i64>,
    /// The inverse: C-order position of the element at each offset.
    flat_of_mem: Vec<usize>,
}

impl Root {
    fn new(shape: &[i64], fortran: bool, dtype: DType) -> Root {
        let order = if fortran { Order::F } else { Order::C };
        let mut t = Tensor::zeros(dtype, shape, order).unwrap();
        // Compact strides by hand (NumPy counts size-0 dims as 1 here).
        let nd = shape.len();
        let mut strides = vec![0i64; nd];
        let mut acc = 1;
        let axes: Vec<usize> = if fortran {
            (0..nd).collect()
        } else {
            (0..nd).rev().collect()
        };
        for a in axes {
            strides[a] = acc;
            acc *= shape[a].max(1);
        }
        assert_eq!(
            t.strides(),
            &strides[..],
            "root strides of {shape:?} {order:?}"
        );
        let size = numel(shape);
        let mem_of_flat: Vec<i64> = (0..size)
            .map(|k| dot(&unravel_c(k, shape), &strides))
            .collect();
        let mut flat_of_mem = vec![usize::MAX; size];
        for (k, &m) in mem_of_flat.iter().enumerate() {
            assert!((0..size as i64).contains(&m));
            assert_eq!(
                flat_of_mem[m as usize],
                usize::MAX,
                "compact roots do not overlap"
            );
            flat_of_mem[m as usize] = k;
        }
        for k in 0..size {
            t.set_f64(&unravel_c(k, shape), k as f64).unwrap();
        }
        let base = t.data_ptr() as i64;
        Root {
            t,
            shape: shape.to_vec(),
            item: dtype.itemsize() as i64,
            base,
            mem_of_flat,
            flat_of_mem,
        }
    }

    fn model(&self) -> Model {
        Model {
            shape: self.shape.clone(),
            map: (0..self.mem_of_flat.len()).collect(),
            writeable: true,
        }
    }

    fn addr(&self, flat: usize) -> i64 {
        self.base + self.mem_of_flat[flat] * self.item
    }
}

/// What a view must be: its shape, the root position of each of its elements
/// in C order, and whether it must be writeable.
#[derive(Clone, Debug)]
struct Model {
    shape: Vec<i64>,
    map: Vec<usize>,
    writeable: bool,
}

impl Model {
    /// The view of shape `shape` whose element at multi-index `i` is this
    /// view's element `old_index(i)`; `None` past the size cap.
    fn derive(&self, shape: Vec<i64>, old_index: impl Fn(&[i64]) -> Vec<i64>) -> Option<Model> {
        let size = numel(&shape);
        if size > CAP {
            return None;
        }
        let map = (0..size)
            .map(|k| {
                let old = old_index(&unravel_c(k, &shape));
                assert!(
                    old.iter()
                        .zip(&self.shape)
                        .all(|(&i, &n)| (0..n).contains(&i)),
                    "model bug: {old:?} in {:?}",
                    self.shape
                );
                self.map[ravel_c(&old, &self.shape)]
            })
            .collect();
        Some(Model {
            shape,
            map,
            writeable: false,
        })
    }
}

#[derive(Debug)]
enum Expect {
    /// `Error::InvalidArgument` whose message contains this text.
    Invalid(String),
    Index {
        index: i64,
        axis: usize,
        size: i64,
    },
    /// `Error::CopyRequired` with exactly this message.
    CopyRequired(String),
    /// `Error::ReadOnly` with exactly this message.
    ReadOnly(String),
}

enum Step {
    View(Model),
    Fail(Expect),
    /// Too large a result (or not modelled): do not call.
    Skip,
}

fn check_error(err: &Error, expect: &Expect, ctx: &str) {
    match expect {
        Expect::Invalid(text) => {
            assert!(
                matches!(err, Error::InvalidArgument(m) if m.contains(text.as_str())),
                "{ctx}: got {err:?}, expected InvalidArgument containing {text:?}"
            )
        }
        Expect::Index { index, axis, size } => {
            assert_eq!(
                err,
                &Error::Index {
                    index: *index,
                    axis: *axis,
                    size: *size
                },
                "{ctx}"
            );
            assert_eq!(
                err.to_string(),
                format!("index {index} is out of bounds for axis {axis} with size {size}")
            );
        }
        Expect::CopyRequired(msg) => {
            assert!(matches!(err, Error::CopyRequired(_)), "{ctx}: got {err:?}");
            assert_eq!(&err.to_string(), msg, "{ctx}");
        }
        Expect::ReadOnly(msg) => {
            assert!(matches!(err, Error::ReadOnly(_)), "{ctx}: got {err:?}");
            assert_eq!(&err.to_string(), msg, "{ctx}");
        }
    }
}

// ---- operations ------------------------------------------------------------

/// A generated operation; parameters that depend on the current shape are
/// drawn from seeds when the operation is applied.
#[derive(Clone, Debug)]
enum Op {
    Slice {
        axis: u16,
        start: Option<i64>,
        stop: Option<i64>,
        step: i64,
    },
    Select {
        axis: u16,
        index: u16,
    },
    /// `corrupt` 0..=4: a valid permutation; 5: wrong length; 6: a repeated
    /// axis; 7: an axis out of range.
    Permute {
        seed: u64,
        corrupt: u8,
    },
    Transpose,
    Flip {
        axis: u16,
    },
    Squeeze {
        axis: Option<u16>,
    },
    ExpandDims {
        axis: u16,
    },
    /// New leading dims, the sizes size-1 dims grow to, and whether to
    /// spoil the target.
    BroadcastTo {
        lead: Vec<i64>,
        grow: Vec<i64>,
        corrupt: bool,
    },
    /// `corrupt` 4: an extra factor of 2; 5: two unknown dims or a negative
    /// dim; anything else: none.
    Reshape {
        seed: u64,
        unknown: bool,
        corrupt: u8,
    },
    AsStrided {
        shape: Vec<i64>,
        strides: Vec<i64>,
    },
    SlidingWindow {
        axis: u16,
        window: u16,
    },
    SetWriteable(bool),
}

/// An axis (or index) among `n` valid ones, chosen by `seed`: nine times in
/// ten a valid one (counted from the front or from the end), else one just
/// out of range on either side.
fn pick(seed: u16, n: usize) -> i64 {
    let n = n as i64;
    if seed % 10 == 9 {
        return if (seed / 10).is_multiple_of(2) {
            n
        } else {
            -n - 1
        };
    }
    let a = i64::from(seed / 10) % n.max(1);
    if (seed / 20) % 2 == 1 { a - n } else { a }
}

/// A window for an axis of `n`: usually fitting, sometimes one too large or negative.
fn pick_window(seed: u16, n: i64) -> i64 {
    match seed % 10 {
        9 => n + 1,
        8 => -1,
        _ => i64::from(seed / 10) % (n + 1),
    }
}

/// An operation with concrete arguments for the current view.
#[derive(Clone, Debug)]
enum Call {
    Slice(i64, Option<i64>, Option<i64>, i64),
    Select(i64, i64),
    Permute(Vec<i64>),
    Transpose,
    Flip(i64),
    Squeeze(Option<i64>),
    ExpandDims(i64),
    BroadcastTo(Vec<i64>),
    Reshape(Vec<i64>),
    AsStrided(Vec<i64>, Vec<i64>),
    SlidingWindow(i64, i64),
    SetWriteable(bool),
}

fn concretize(op: &Op, shape: &[i64]) -> Call {
    let nd = shape.len();
    match op {
        Op::Slice {
            axis,
            start,
            stop,
            step,
        } => {
            // Mostly bounds in the step's direction, so that most slices
            // are not empty (Python clamps the rest).
            let (mut start, mut stop) = (*start, *stop);
            if let (Some(a), Some(b)) = (start, stop)
                && (*axis / 7) % 4 != 0
                && (a < b) != (*step > 0)
            {
                (start, stop) = (stop, start);
            }
            Call::Slice(pick(*axis, nd), start, stop, *step)
        }
        Op::Select { axis, index } => {
            let a = pick(*axis, nd);
            let n = normalize(a, nd).map_or(0, |a| shape[a]);
            Call::Select(a, pick(*index, n as usize))
        }
        Op::Permute { seed, corrupt } => {
            let mut rng = SplitMix(*seed);
            let mut p: Vec<i64> = (0..nd as i64).collect();
            for i in (1..nd).rev() {
                p.swap(i, rng.below(i + 1));
            }
            // Some entries counted from the end.
            for a in p.iter_mut() {
                if rng.next().is_multiple_of(3) {
                    *a -= nd as i64;
                }
            }
            match corrupt {
                5 if rng.next().is_multiple_of(2) || nd == 0 => p.push(0),
                5 => {
                    p.pop();
                }
                6 if nd >= 2 => {
                    p[1] = if p[0] < 0 {
                        p[0] + nd as i64
                    } else {
                        p[0] - nd as i64
                    }
                }
                7 if nd >= 1 => {
                    p[0] = if rng.next().is_multiple_of(2) {
                        nd as i64
                    } else {
                        -(nd as i64) - 1
                    }
                }
                _ => {}
            }
            Call::Permute(p)
        }
        Op::Transpose => Call::Transpose,
        Op::Flip { axis } => Call::Flip(pick(*axis, nd)),
        // Aim at a size-1 axis when there is one.
        Op::Squeeze { axis } => Call::Squeeze(axis.map(|seed| {
            let ones: Vec<usize> = (0..nd).filter(|&a| shape[a] == 1).collect();
            if ones.is_empty() || seed % 4 == 3 {
                pick(seed, nd)
            } else {
                ones[usize::from(seed) % ones.len()] as i64
            }
        })),
        Op::ExpandDims { axis } => Call::ExpandDims(pick(*axis, nd + 1)),
        Op::BroadcastTo {
            lead,
            grow,
            corrupt,
        } => {
            let mut target = lead.clone();
            target.extend(
                shape
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| if n == 1 { grow[i % grow.len()] } else { n }),
            );
            if *corrupt {
                let l = lead.len();
                if let Some(i) = shape.iter().position(|&n| n != 1) {
                    target[l + i] = shape[i] + 1;
                } else if nd > 0 {
                    target = target[l + 1..].to_vec();
                }
            }
            Call::BroadcastTo(target)
        }
        Op::Reshape {
            seed,
            unknown,
            corrupt,
        } => {
            let mut rng = SplitMix(*seed);
            let size = numel(shape) as i64;
            let mut dims: Vec<i64> = Vec::new();
            if size == 0 {
                let nd = 1 + rng.below(4);
                dims = (0..nd).map(|_| rng.below(4) as i64).collect();
                let z = rng.below(nd);
                dims[z] = 0;
            } else {
                let nd = rng.below(5);
                let mut rest = size;
                for _ in 1..nd {
                    let divisors: Vec<i64> = (1..=rest).filter(|d| rest % d == 0).collect();
                    let d = divisors[rng.below(divisors.len())];
                    dims.push(d);
                    rest /= d;
                }
                if nd > 0 || rest != 1 {
                    dims.push(rest);
                }
                // Shuffle so size-1 and large factors land anywhere.
                for i in (1..dims.len()).rev() {
                    dims.swap(i, rng.below(i + 1));
                }
            }
            if *unknown && !dims.is_empty() {
                let p = rng.below(dims.len());
                dims[p] = -1;
            }
            match corrupt {
                4 => dims.push(2),
                5 if rng.next().is_multiple_of(2) => dims.extend([-1, -1]),
                5 => dims.insert(0, -2),
                _ => {}
            }
            Call::Reshape(dims)
        }
        Op::AsStrided { shape, strides } => Call::AsStrided(shape.clone(), strides.clone()),
        Op::SlidingWindow { axis, window } => {
            let a = pick(*axis, nd);
            let n = normalize(a, nd).map_or(0, |a| shape[a]);
            Call::SlidingWindow(a, pick_window(*window, n))
        }
        Op::SetWriteable(w) => Call::SetWriteable(*w),
    }
}

/// NumPy's reading of a requested shape: at most one `-1`, no other negative
/// entry, and the element count must match. Scans left to right, reporting
/// the first problem.
fn resolve_shape(size: usize, old: &[i64], target: &[i64]) -> Result<Vec<i64>, Expect> {
    let mut unknown = None;
    let mut known: i64 = 1;
    for (i, &d) in target.iter().enumerate() {
        if d == -1 && unknown.is_none() {
            unknown = Some(i);
        } else if d == -1 {
            return Err(Expect::Invalid(
                "can only specify one unknown dimension".into(),
            ));
        } else if d < 0 {
            return Err(Expect::Invalid(format!(
                "negative dimension {d} in shape {}",
                tuple(target)
            )));
        } else {
            known *= d;
        }
    }
    let mismatch = || {
        Expect::Invalid(format!(
            "cannot reshape tensor of size {size} (shape {}) into shape {}",
            tuple(old),
            tuple(target)
        ))
    };
    let mut out = target.to_vec();
    match unknown {
        Some(i) if known != 0 && size as i64 % known == 0 => out[i] = size as i64 / known,
        Some(_) => return Err(mismatch()),
        None if known != size as i64 => return Err(mismatch()),
        None => {}
    }
    Ok(out)
}

/// The model's answer for `call` applied to the view `m` (whose tensor is
/// `cur`, used only to format the expected COPY_REQUIRED message).
fn predict(root: &Root, m: &Model, cur: &Tensor, call: &Call) -> Step {
    let nd = m.shape.len();
    // Ordinary views inherit WRITEABLE unless their elements overlap (rules 2.2, 2.3).
    let inherit = |v: Option<Model>| match v {
        Some(mut v) => {
            v.writeable = m.writeable && !has_duplicates(&v.map);
            Step::View(v)
        }
        None => Step::Skip,
    };
    let read_only = |v: Option<Model>| v.map_or(Step::Skip, Step::View);
    match call {
        Call::Slice(axis, start, stop, step) => {
            let Some(a) = normalize(*axis, nd) else {
                return Step::Fail(axis_error(*axis, nd));
            };
            if *step == 0 {
                return Step::Fail(Expect::Invalid("slice step cannot be zero".into()));
            }
            let picked = py_slice(m.shape[a], *start, *stop, *step);
            let mut shape = m.shape.clone();
            shape[a] = picked.len() as i64;
            inherit(m.derive(shape, |i| {
                let mut o = i.to_vec();
                o[a] = picked[i[a] as usize];
                o
            }))
        }
        Call::Select(axis, index) => {
            let Some(a) = normalize(*axis, nd) else {
                return Step::Fail(axis_error(*axis, nd));
            };
            let n = m.shape[a];
            let i = if *index < 0 { index + n } else { *index };
            if !(0..n).contains(&i) {
                return Step::Fail(Expect::Index {
                    index: *index,
                    axis: a,
                    size: n,
                });
            }
            let mut shape = m.shape.clone();
            shape.remove(a);
            inherit(m.derive(shape, |j| {
                let mut o = j.to_vec();
                o.insert(a, i);
                o
            }))
        }
        Call::Permute(axes) => {
            if axes.len() != nd {
                return Step::Fail(Expect::Invalid(format!(
                    "axes has {} entries but the tensor has {nd} dimensions",
                    axes.len()
                )));
            }
            let mut perm = Vec::new();
            for &a in axes {
                let Some(p) = normalize(a, nd) else {
                    return Step::Fail(axis_error(a, nd));
                };
                if perm.contains(&p) {
                    return Step::Fail(Expect::Invalid(format!(
                        "repeated axis {a} in permutation {}",
                        tuple(axes)
                    )));
                }
                perm.push(p);
            }
            permuted(m, &perm).map_or(Step::Skip, |v| inherit(Some(v)))
        }
        Call::Transpose => {
            let perm: Vec<usize> = (0..nd).rev().collect();
            inherit(permuted(m, &perm))
        }
        Call::Flip(axis) => {
            let Some(a) = normalize(*axis, nd) else {
                return Step::Fail(axis_error(*axis, nd));
            };
            let n = m.shape[a];
            inherit(m.derive(m.shape.clone(), |i| {
                let mut o = i.to_vec();
                o[a] = n - 1 - i[a];
                o
            }))
        }
        Call::Squeeze(axis) => {
            let drop: Vec<usize> = match axis {
                None => (0..nd).filter(|&a| m.shape[a] == 1).collect(),
                Some(axis) => {
                    let Some(a) = normalize(*axis, nd) else {
                        return Step::Fail(axis_error(*axis, nd));
                    };
                    if m.shape[a] != 1 {
                        return Step::Fail(Expect::Invalid(format!(
                            "its size is {}, not 1",
                            m.shape[a]
                        )));
                    }
                    vec![a]
                }
            };
            let shape: Vec<i64> = (0..nd)
                .filter(|a| !drop.contains(a))
                .map(|a| m.shape[a])
                .collect();
            inherit(m.derive(shape, |i| {
                let mut o = i.to_vec();
                for &a in &drop {
                    o.insert(a, 0);
                }
                o
            }))
        }
        Call::ExpandDims(axis) => {
            let Some(a) = normalize(*axis, nd + 1) else {
                return Step::Fail(axis_error(*axis, nd + 1));
            };
            let mut shape = m.shape.clone();
            shape.insert(a, 1);
            inherit(m.derive(shape, |i| {
                let mut o = i.to_vec();
                o.remove(a);
                o
            }))
        }
        Call::BroadcastTo(target) => {
            let bad = || {
                Step::Fail(Expect::Invalid(format!(
                    "cannot broadcast shape {} to shape {}",
                    tuple(&m.shape),
                    tuple(target)
                )))
            };
            if target.len() < nd {
                return bad();
            }
            let lead = target.len() - nd;
            if (0..nd).any(|i| m.shape[i] != 1 && m.shape[i] != target[lead + i]) {
                return bad();
            }
            read_only(m.derive(target.clone(), |i| {
                (0..nd)
                    .map(|d| if m.shape[d] == 1 { 0 } else { i[lead + d] })
                    .collect()
            }))
        }
        Call::Reshape(target) => {
            let size = m.map.len();
            let shape = match resolve_shape(size, &m.shape, target) {
                Ok(s) => s,
                Err(e) => return Step::Fail(e),
            };
            // A view exists iff the elements, in C order, sit at addresses
            // affine in the new multi-index: the strides are then forced by
            // the unit steps, and every element must agree.
            let viewable = size == 0 || {
                let at = |k: usize| root.mem_of_flat[m.map[k]];
                let strides: Vec<i64> = (0..shape.len())
                    .map(|d| {
                        if shape[d] < 2 {
                            return 0;
                        }
                        let mut e = vec![0; shape.len()];
                        e[d] = 1;
                        at(ravel_c(&e, &shape)) - at(0)
                    })
                    .collect();
                (0..size).all(|k| at(k) == at(0) + dot(&unravel_c(k, &shape), &strides))
            };
            if viewable {
                Step::View(Model {
                    shape,
                    map: m.map.clone(),
                    writeable: m.writeable,
                })
            } else {
                Step::Fail(Expect::CopyRequired(format!(
                    "cannot share: a tensor of shape {} with strides {} cannot be viewed as shape {}",
                    tuple(&m.shape),
                    tuple(cur.strides()),
                    tuple(&shape)
                )))
            }
        }
        Call::AsStrided(shape, strides) => {
            // The model only knows where a view starts when it has elements.
            let Some(&first) = m.map.first() else {
                return Step::Skip;
            };
            let origin = root.mem_of_flat[first];
            let size = numel(shape);
            if size == 0 {
                return inherit(Some(Model {
                    shape: shape.clone(),
                    map: vec![],
                    writeable: false,
                }));
            }
            let reach = |neg: bool| -> i64 {
                shape
                    .iter()
                    .zip(strides)
                    .map(|(&n, &s)| (n - 1) * s)
                    .filter(|&r| (r < 0) == neg)
                    .sum()
            };
            let (lo, hi) = (origin + reach(true), origin + reach(false));
            if lo < 0 || hi >= root.flat_of_mem.len() as i64 {
                return Step::Fail(Expect::Invalid(format!(
                    "as_strided layout of shape {} with strides {}",
                    tuple(shape),
                    tuple(strides)
                )));
            }
            let map = (0..size)
                .map(|k| root.flat_of_mem[(origin + dot(&unravel_c(k, shape), strides)) as usize])
                .collect();
            inherit(Some(Model {
                shape: shape.clone(),
                map,
                writeable: false,
            }))
        }
        Call::SlidingWindow(axis, window) => {
            let Some(a) = normalize(*axis, nd) else {
                return Step::Fail(axis_error(*axis, nd));
            };
            let n = m.shape[a];
            if *window < 0 || *window > n {
                return Step::Fail(Expect::Invalid(format!(
                    "window {window} does not fit axis {a} of size {n}"
                )));
            }
            let mut shape = m.shape.clone();
            shape[a] = n - window + 1;
            shape.push(*window);
            read_only(m.derive(shape, |i| {
                let mut o = i[..nd].to_vec();
                o[a] += i[nd];
                o
            }))
        }
        Call::SetWriteable(w) => {
            if *w && has_duplicates(&m.map) {
                Step::Fail(Expect::ReadOnly(
                    "cannot make tensor writeable: its elements overlap in memory".into(),
                ))
            } else {
                Step::View(Model {
                    writeable: *w,
                    ..m.clone()
                })
            }
        }
    }
}

fn permuted(m: &Model, perm: &[usize]) -> Option<Model> {
    let shape: Vec<i64> = perm.iter().map(|&p| m.shape[p]).collect();
    m.derive(shape, |i| {
        let mut o = vec![0; perm.len()];
        for (k, &p) in perm.iter().enumerate() {
            o[p] = i[k];
        }
        o
    })
}

fn perform(cur: &Tensor, call: &Call) -> Result<Tensor, Error> {
    match call {
        Call::Slice(axis, start, stop, step) => cur.slice(*axis, *start, *stop, *step),
        Call::Select(axis, index) => cur.select(*axis, *index),
        Call::Permute(axes) => cur.permute(axes),
        Call::Transpose => cur.transpose(),
        Call::Flip(axis) => cur.flip(*axis),
        Call::Squeeze(axis) => cur.squeeze(*axis),
        Call::ExpandDims(axis) => cur.expand_dims(*axis),
        Call::BroadcastTo(shape) => cur.broadcast_to(shape),
        Call::Reshape(shape) => cur.reshape(shape, CopyMode::Never),
        Call::AsStrided(shape, strides) => cur.as_strided(shape, strides),
        Call::SlidingWindow(axis, window) => cur.sliding_window(*axis, *window),
        Call::SetWriteable(w) => {
            let mut t = cur.clone();
            t.set_writeable(*w).map(|()| t)
        }
    }
}

// ---- checks ------------------------------------------------------------------

/// Every address, value and flag of `t` against the model.
fn check_view(root: &Root, m: &Model, t: &Tensor, is_root: bool, ctx: &str) {
    let nd = m.shape.len();
    let size = m.map.len();
    assert_eq!(t.shape(), &m.shape[..], "{ctx}: shape");
    assert_eq!((t.ndim(), t.strides().len()), (nd, nd), "{ctx}");
    assert_eq!(t.size() as usize, size, "{ctx}: size");
    assert_eq!(t.dtype(), root.t.dtype());
    assert!(
        Arc::ptr_eq(t.storage(), root.t.storage()),
        "{ctx}: a view shares its root's storage"
    );

    // Addresses and values.
    let item = root.item;
    let addr = |k: usize| root.addr(m.map[k]);
    if size == 0 {
        assert!(
            t.data_ptr().is_null(),
            "{ctx}: a size-0 tensor has a NULL data pointer"
        );
    } else {
        let data = t.data_ptr() as i64;
        assert_eq!(data, addr(0), "{ctx}: data pointer is element [0, ..., 0]");
        for k in 0..size {
            let idx = unravel_c(k, &m.shape);
            assert_eq!(
                data + dot(&idx, t.strides()) * item,
                addr(k),
                "{ctx}: address of {idx:?}"
            );
            assert_eq!(
                t.get_f64(&idx).unwrap(),
                m.map[k] as f64,
                "{ctx}: value at {idx:?}"
            );
        }
        // Negative indices count from the end.
        for k in [0, size / 2, size - 1] {
            let idx = unravel_c(k, &m.shape);
            let neg: Vec<i64> = idx.iter().zip(&m.shape).map(|(i, n)| i - n).collect();
            assert_eq!(
                t.get_f64(&neg).unwrap(),
                m.map[k] as f64,
                "{ctx}: value at {neg:?}"
            );
        }
    }

    // Bounds errors name the first offending axis, the index and the size.
    for d in 0..nd {
        for bad in [m.shape[d], -m.shape[d] - 1] {
            let mut idx = vec![0; nd];
            idx[d] = bad;
            let first = (0..nd).find(|&a| a == d || m.shape[a] == 0).unwrap();
            let index = if first == d { bad } else { 0 };
            let err = t.get_f64(&idx).unwrap_err();
            check_error(
                &err,
                &Expect::Index {
                    index,
                    axis: first,
                    size: m.shape[first],
                },
                ctx,
            );
        }
    }
    let err = t.get_f64(&vec![0; nd + 1]).unwrap_err();
    check_error(
        &err,
        &Expect::Invalid(format!(
            "index has {} entries but the tensor has {nd} dimensions",
            nd + 1
        )),
        ctx,
    );

    // Contiguity by definition: element k in C (F) order sits k items after element 0.
    let c = (0..size).all(|k| addr(k) == addr(0) + k as i64 * item);
    let f = (0..size)
        .all(|k| addr(k) == addr(0) + ravel_f(&unravel_c(k, &m.shape), &m.shape) as i64 * item);
    let fl = t.flags();
    assert_eq!(
        fl & flags::C_CONTIGUOUS != 0,
        c,
        "{ctx}: C_CONTIGUOUS (strides {:?})",
        t.strides()
    );
    assert_eq!(
        fl & flags::F_CONTIGUOUS != 0,
        f,
        "{ctx}: F_CONTIGUOUS (strides {:?})",
        t.strides()
    );
    assert_eq!(fl & flags::WRITEABLE != 0, m.writeable, "{ctx}: WRITEABLE");
    assert_eq!(t.is_writeable(), m.writeable, "{ctx}");
    assert_ne!(
        fl & flags::ALIGNED,
        0,
        "{ctx}: element strides from an aligned root are aligned"
    );
    assert_eq!(
        fl & flags::OWNDATA != 0,
        is_root,
        "{ctx}: OWNDATA only on roots"
    );
    match t.base() {
        None => assert!(is_root, "{ctx}: a view has a base"),
        Some(b) => {
            assert!(!is_root, "{ctx}: a root has no base");
            // Views of views point at the root, as NumPy's `base` does.
            assert!(b.base().is_none(), "{ctx}: base is a root");
            assert_ne!(b.flags() & flags::OWNDATA, 0);
            assert_eq!(b.shape(), &root.shape[..]);
            assert_eq!(b.data_ptr(), root.t.data_ptr());
            assert!(Arc::ptr_eq(b.storage(), root.t.storage()));
        }
    }
}

/// Writes through the view reach the root element the model names, or are
/// refused on a read-only view.
fn check_write(root: &Root, m: &Model, t: &Tensor, ctx: &str) {
    let mut w = t.clone();
    let size = m.map.len();
    let k = size / 2;
    if m.writeable {
        let p = w.data_ptr_mut().unwrap();
        assert_eq!(p as *const u8, t.data_ptr(), "{ctx}");
        if size > 0 {
            let idx = unravel_c(k, &m.shape);
            let ridx = unravel_c(m.map[k], &root.shape);
            // The root (and `t`) share the memory: a safe write is refused.
            assert!(
                matches!(w.set_f64(&idx, MARKER), Err(Error::InvalidArgument(e))
                    if e.starts_with("cannot write through a shared tensor")),
                "{ctx}"
            );
            // SAFETY: single-threaded: nothing else uses the memory meanwhile.
            unsafe { w.set_f64_shared(&idx, MARKER) }.unwrap();
            assert_eq!(
                root.t.get_f64(&ridx).unwrap(),
                MARKER,
                "{ctx}: write through {idx:?} reaches root {ridx:?}"
            );
            // SAFETY: as above.
            unsafe { w.set_f64_shared(&idx, m.map[k] as f64) }.unwrap();
            assert_eq!(root.t.get_f64(&ridx).unwrap(), m.map[k] as f64);
        } else if !m.shape.is_empty() {
            // No element to write: the index is out of bounds, not read-only.
            assert!(
                matches!(
                    // SAFETY: as above (and nothing is written).
                    unsafe { w.set_f64_shared(&vec![0; m.shape.len()], MARKER) },
                    Err(Error::Index { .. })
                ),
                "{ctx}"
            );
        }
    } else {
        // Rule 2.4: making it writeable again works unless elements overlap
        // (the storage of a fresh root is never read-only).
        let mut again = t.clone();
        if has_duplicates(&m.map) {
            let err = again.set_writeable(true).unwrap_err();
            check_error(
                &err,
                &Expect::ReadOnly(
                    "cannot make tensor writeable: its elements overlap in memory".into(),
                ),
                ctx,
            );
            assert!(!again.is_writeable());
        } else {
            again.set_writeable(true).unwrap();
            assert!(
                again.is_writeable() && !t.is_writeable(),
                "{ctx}: set_writeable changes only that handle"
            );
        }
        again.set_writeable(false).unwrap();
        assert!(!again.is_writeable());
        let read_only = Error::ReadOnly("assignment destination is read-only".into());
        assert_eq!(w.data_ptr_mut().unwrap_err(), read_only, "{ctx}");
        assert_eq!(w.require_writeable().unwrap_err(), read_only, "{ctx}");
        if size > 0 {
            let idx = unravel_c(k, &m.shape);
            assert_eq!(w.set_f64(&idx, MARKER).unwrap_err(), read_only, "{ctx}");
            let ridx = unravel_c(m.map[k], &root.shape);
            assert_eq!(
                root.t.get_f64(&ridx).unwrap(),
                m.map[k] as f64,
                "{ctx}: refused write changed nothing"
            );
        }
    }
}

/// `shares_memory` against element-address set intersection, and
/// `may_share_memory` against byte-range intersection, both ways round.
fn check_sharing(root: &Root, (a, ma): (&Tensor, &Model), (b, mb): (&Tensor, &Model), ctx: &str) {
    let set: HashSet<i64> = ma.map.iter().map(|&f| root.mem_of_flat[f]).collect();
    let exact = mb.map.iter().any(|f| set.contains(&root.mem_of_flat[*f]));
    assert_eq!(
        a.shares_memory(b),
        exact,
        "{ctx}: shares_memory {:?} / {:?}",
        ma.shape,
        mb.shape
    );
    assert_eq!(
        b.shares_memory(a),
        exact,
        "{ctx}: shares_memory is symmetric"
    );
    let range = |m: &Model| -> Option<(i64, i64)> {
        let addrs = m.map.iter().map(|&f| root.addr(f));
        let lo = addrs.clone().min()?;
        Some((lo, addrs.max()? + root.item))
    };
    let may = match (range(ma), range(mb)) {
        (Some((a0, a1)), Some((b0, b1))) => a0 < b1 && b0 < a1,
        _ => false,
    };
    assert_eq!(a.may_share_memory(b), may, "{ctx}: may_share_memory");
    assert_eq!(
        b.may_share_memory(a),
        may,
        "{ctx}: may_share_memory is symmetric"
    );
    assert!(!exact || may);
}

/// Hand-computed compact strides in C or F order (size-0 dims count as 1).
fn compact(shape: &[i64], fortran: bool) -> Vec<i64> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    let axes: Vec<usize> = if fortran {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    for d in axes {
        strides[d] = acc;
        acc *= shape[d].max(1);
    }
    strides
}

/// `copy` in C, F and K order and `astype`: new roots holding the view's
/// values. C and F have the hand-computed strides; K is compact in some axis
/// order and, for a dense view with positive strides, keeps its memory order
/// (NumPy's `order="K"`).
fn check_copies(root: &Root, m: &Model, view: &Tensor, ctx: &str) {
    let size = m.map.len();
    let addrs: Vec<i64> = m.map.iter().map(|&f| root.addr(f)).collect();
    let lowest = addrs.iter().copied().min().unwrap_or(0);
    let dense = {
        let mut sorted = addrs.clone();
        sorted.sort_unstable();
        sorted
            .iter()
            .enumerate()
            .all(|(k, &a)| a == lowest + k as i64 * root.item)
    };
    let ascending = view
        .shape()
        .iter()
        .zip(view.strides())
        .all(|(&n, &s)| n < 2 || s > 0);
    for (order, name) in [(Order::C, "C"), (Order::F, "F"), (Order::K, "K")] {
        let c = view.copy(order).unwrap();
        let ctx = format!("{ctx}: copy({name})");
        assert!(
            c.base().is_none() && !Arc::ptr_eq(c.storage(), root.t.storage()),
            "{ctx}"
        );
        let want = flags::WRITEABLE | flags::OWNDATA | flags::ALIGNED;
        assert_eq!(c.flags() & want, want, "{ctx}");
        assert_eq!(
            (c.shape(), c.dtype()),
            (view.shape(), view.dtype()),
            "{ctx}"
        );
        match order {
            Order::C => assert_eq!(c.strides(), &compact(&m.shape, false)[..], "{ctx}"),
            Order::F => assert_eq!(c.strides(), &compact(&m.shape, true)[..], "{ctx}"),
            Order::K => {}
        }
        // Every offset 0..size exactly once.
        let mut offsets: Vec<i64> = (0..size)
            .map(|k| dot(&unravel_c(k, &m.shape), c.strides()))
            .collect();
        if order == Order::K && dense && ascending {
            for (k, &o) in offsets.iter().enumerate() {
                assert_eq!(
                    o * root.item,
                    addrs[k] - lowest,
                    "{ctx}: K keeps the memory order of a dense view"
                );
            }
        }
        offsets.sort_unstable();
        assert!(
            offsets.iter().enumerate().all(|(k, &o)| o == k as i64),
            "{ctx}: compact, strides {:?}",
            c.strides()
        );
        for (k, &f) in m.map.iter().enumerate() {
            assert_eq!(
                c.get_f64(&unravel_c(k, &m.shape)).unwrap(),
                f as f64,
                "{ctx}: value {k}"
            );
        }
    }
    let cast = view.astype(DType::F32, Order::F).unwrap();
    assert_eq!(
        (cast.dtype(), cast.strides()),
        (DType::F32, &compact(&m.shape, true)[..]),
        "{ctx}: astype"
    );
    for (k, &f) in m.map.iter().enumerate() {
        assert_eq!(
            cast.get_f64(&unravel_c(k, &m.shape)).unwrap(),
            f as f64,
            "{ctx}: astype value {k}"
        );
    }
}

/// A copy made by `reshape`: a new writeable C-contiguous root holding the
/// model's values.
fn check_reshape_copy(root: &Root, m: &Model, shape: &[i64], copy: &Tensor, ctx: &str) {
    assert_eq!(copy.shape(), shape, "{ctx}");
    assert!(copy.base().is_none(), "{ctx}: a copy is a root");
    assert!(
        !Arc::ptr_eq(copy.storage(), root.t.storage()),
        "{ctx}: a copy has its own storage"
    );
    let want = flags::WRITEABLE | flags::C_CONTIGUOUS | flags::OWNDATA | flags::ALIGNED;
    assert_eq!(
        copy.flags() & want,
        want,
        "{ctx}: copy flags {:#x}",
        copy.flags()
    );
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for d in (0..shape.len()).rev() {
        strides[d] = acc;
        acc *= shape[d].max(1);
    }
    assert_eq!(copy.strides(), &strides[..], "{ctx}: copy strides");
    assert!(
        !copy.shares_memory(&root.t) && !copy.may_share_memory(&root.t),
        "{ctx}"
    );
    if !m.map.is_empty() {
        assert_ne!(copy.data_ptr(), root.t.data_ptr());
    }
    for (k, &f) in m.map.iter().enumerate() {
        assert_eq!(
            copy.get_f64(&unravel_c(k, shape)).unwrap(),
            f as f64,
            "{ctx}: copy value {k}"
        );
    }
}

/// Applies `ops` from the root, checking every step; returns the views made.
fn run_chain(root: &Root, ops: &[Op], label: &str) -> Vec<(Tensor, Model)> {
    let mut views: Vec<(Tensor, Model)> = Vec::new();
    let mut cur = (root.t.clone(), root.model());
    // `set_writeable` on the root (a clone of it) leaves a root.
    let mut cur_is_root = true;
    for (step, op) in ops.iter().enumerate() {
        let call = concretize(op, &cur.1.shape);
        let ctx = format!("{label} step {step}: {call:?} on shape {:?}", cur.1.shape);
        let predicted = predict(root, &cur.1, &cur.0, &call);
        if let Call::Reshape(target) = &call {
            check_reshape_modes(root, &cur, target, &predicted, &ctx);
        }
        match predicted {
            Step::Skip => continue,
            Step::Fail(expect) => {
                let err = perform(&cur.0, &call).expect_err(&ctx);
                check_error(&err, &expect, &ctx);
            }
            Step::View(model) => {
                let view = perform(&cur.0, &call).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                let is_root = cur_is_root && matches!(call, Call::SetWriteable(_));
                cur_is_root = is_root;
                check_view(root, &model, &view, is_root, &ctx);
                check_write(root, &model, &view, &ctx);
                check_copies(root, &model, &view, &ctx);
                check_sharing(root, (&view, &model), (&root.t, &root.model()), &ctx);
                check_sharing(root, (&view, &model), (&cur.0, &cur.1), &ctx);
                for (old, old_model) in views.iter().step_by(2) {
                    check_sharing(root, (&view, &model), (old, old_model), &ctx);
                }
                views.push((view.clone(), model.clone()));
                cur = (view, model);
            }
        }
    }
    views
}

/// `reshape` under the other two copy policies: `IfNeeded` is the view when
/// one exists and a copy otherwise; `Always` is always a copy.
fn check_reshape_modes(
    root: &Root,
    cur: &(Tensor, Model),
    target: &[i64],
    predicted: &Step,
    ctx: &str,
) {
    let (t, m) = cur;
    match predicted {
        Step::Fail(Expect::Invalid(_)) => {
            for mode in [CopyMode::IfNeeded, CopyMode::Always] {
                assert!(
                    matches!(t.reshape(target, mode), Err(Error::InvalidArgument(_))),
                    "{ctx}: {mode:?}"
                );
            }
        }
        Step::Fail(Expect::CopyRequired(_)) => {
            let shape = resolve_shape(m.map.len(), &m.shape, target).unwrap();
            let copy = t.reshape(target, CopyMode::IfNeeded).unwrap();
            check_reshape_copy(root, m, &shape, &copy, &format!("{ctx} IfNeeded"));
            let copy = t.reshape(target, CopyMode::Always).unwrap();
            check_reshape_copy(root, m, &shape, &copy, &format!("{ctx} Always"));
        }
        Step::View(model) => {
            let view = t.reshape(target, CopyMode::IfNeeded).unwrap();
            check_view(root, model, &view, false, &format!("{ctx} IfNeeded"));
            let copy = t.reshape(target, CopyMode::Always).unwrap();
            check_reshape_copy(root, m, &model.shape, &copy, &format!("{ctx} Always"));
        }
        _ => {}
    }
}

// ---- strategies --------------------------------------------------------------

fn dim() -> impl Strategy<Value = i64> {
    // Mostly non-empty: with five dims a uniform 0..=6 would make half the
    // roots empty.
    prop_oneof![1 => Just(0i64), 20 => 1i64..=6]
}

fn bound() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![1 => Just(None), 3 => (-7i64..=7).prop_map(Some)]
}

fn op() -> impl Strategy<Value = Op> {
    let axis = any::<u16>;
    prop_oneof![
        4 => (axis(), bound(), bound(), prop_oneof![1 => Just(0i64), 6 => 1i64..=3, 4 => -3i64..=-1]).prop_map(|(axis, start, stop, step)| Op::Slice { axis, start, stop, step }),
        2 => (axis(), any::<u16>()).prop_map(|(axis, index)| Op::Select { axis, index }),
        2 => (any::<u64>(), 0u8..8).prop_map(|(seed, corrupt)| Op::Permute { seed, corrupt }),
        1 => Just(Op::Transpose),
        2 => axis().prop_map(|axis| Op::Flip { axis }),
        1 => proptest::option::of(axis()).prop_map(|axis| Op::Squeeze { axis }),
        2 => axis().prop_map(|axis| Op::ExpandDims { axis }),
        1 => (vec(0i64..=3, 0..=2), vec(0i64..=3, 1..=6), proptest::bool::weighted(0.2))
            .prop_map(|(lead, grow, corrupt)| Op::BroadcastTo { lead, grow, corrupt }),
        3 => (any::<u64>(), any::<bool>(), 0u8..9).prop_map(|(seed, unknown, corrupt)| Op::Reshape { seed, unknown, corrupt }),
        2 => (0usize..=4).prop_flat_map(|n| (vec(0i64..=4, n), vec(-4i64..=4, n)))
            .prop_map(|(shape, strides)| Op::AsStrided { shape, strides }),
        1 => (axis(), any::<u16>()).prop_map(|(axis, window)| Op::SlidingWindow { axis, window }),
        1 => any::<bool>().prop_map(Op::SetWriteable),
    ]
}

fn dtype() -> impl Strategy<Value = DType> {
    prop_oneof![
        Just(DType::F64),
        Just(DType::F32),
        Just(DType::I64),
        Just(DType::I32),
        Just(DType::I16),
        Just(DType::U16)
    ]
}

/// 256 cases unless `PROPTEST_CASES` asks for another number.
fn config() -> ProptestConfig {
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        256
    };
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn view_chains_match_the_reference_model(
        shape in prop_oneof![1 => Just(0usize), 5 => 1usize..=5].prop_flat_map(|n| vec(dim(), n)),
        fortran in any::<bool>(),
        dtype in dtype(),
        chain_a in vec(op(), 0..=8),
        chain_b in vec(op(), 0..=6),
    ) {
        let _serial = serial();
        let live_before = live_count();
        {
            let root = Root::new(&shape, fortran, dtype);
            let root_model = root.model();
            check_view(&root, &root_model, &root.t, true, "root");
            check_write(&root, &root_model, &root.t, "root");
            let a = run_chain(&root, &chain_a, "chain A");
            let b = run_chain(&root, &chain_b, "chain B");
            // Two independent chains over the same root.
            for (i, (va, ma)) in a.iter().enumerate() {
                for (j, (vb, mb)) in b.iter().enumerate() {
                    if i + 1 == a.len() || j + 1 == b.len() {
                        check_sharing(&root, (va, ma), (vb, mb), &format!("A[{i}] vs B[{j}]"));
                    }
                }
            }
            // Separate allocations never share.
            let other = Tensor::zeros(dtype, &[3], Order::C).unwrap();
            assert_eq!(live_count(), live_before + 2, "views allocate no storage");
            for (v, _) in a.iter().chain(&b) {
                assert!(!v.shares_memory(&other) && !v.may_share_memory(&other));
                assert!(!other.shares_memory(v) && !other.may_share_memory(v));
            }
        }
        prop_assert_eq!(live_count(), live_before, "every storage released after all views dropped");
    }
}

/// The slice model against CPython's answers for `list(range(n))[a:b:c]`,
/// computed with Python 3 and pasted here.
#[test]
fn py_slice_matches_python() {
    type Case = (i64, Option<i64>, Option<i64>, i64, &'static [i64]);
    let cases: &[Case] = &[
        (5, None, None, 1, &[0, 1, 2, 3, 4]),
        (5, None, None, -1, &[4, 3, 2, 1, 0]),
        (5, Some(-2), None, 1, &[3, 4]),
        (5, Some(-9), Some(9), 2, &[0, 2, 4]),
        (5, Some(9), Some(-9), -2, &[4, 2, 0]),
        (5, Some(3), Some(1), 1, &[]),
        (5, Some(1), Some(-1), 3, &[1]),
        (5, None, Some(-6), -1, &[4, 3, 2, 1, 0]),
        (5, Some(-6), None, -1, &[]),
        (5, Some(0), Some(0), -1, &[]),
        (0, None, None, -1, &[]),
        (6, Some(-1), Some(-4), -2, &[5, 3]),
        (6, Some(4), None, -3, &[4, 1]),
        (1, Some(-1), Some(1), 1, &[0]),
    ];
    for &(n, start, stop, step, want) in cases {
        assert_eq!(
            py_slice(n, start, stop, step),
            want,
            "range({n})[{start:?}:{stop:?}:{step}]"
        );
    }
}
