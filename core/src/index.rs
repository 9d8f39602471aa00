//! NumPy indexing (docs/rules.md §3): a key of integers, slices, `...`, new axes
//! and integer or boolean index tensors, turned into a view (basic keys) or
//! a gathered copy (advanced keys), and assignment through the same keys.
//!
//! Every face indexes through here: the C ABI (`dlv_tensor_index`,
//! `dlv_tensor_index_put`), the C++ wrapper and Python's `t[key]`.
//!
//! How a key is read, as NumPy reads it:
//! 1. Integers, slices, new axes and `...` are applied to the source as a
//!    view `v`; an index tensor keeps its axis (a boolean mask its axes) in
//!    `v`, and a boolean scalar adds a size-1 axis that it indexes with
//!    `[0]` (true) or `[]` (false). A 0-d integer tensor is an index
//!    tensor of shape `()`: placed like an integer, but the result is a
//!    copy (NumPy's `t[np.array(1)]`).
//! 2. Each advanced item becomes a *component*: byte offsets into `v` over
//!    the item's shape (a mask of `k` dims becomes the offsets of its true
//!    positions, one axis of length `nnz`, as `nonzero()` would give). The
//!    components broadcast together to the shape `B`.
//! 3. Placement: when the advanced items (integers count as advanced once
//!    a tensor index is present) are adjacent in the key, `B` replaces
//!    them in place; when a slice, `...` or new axis separates them, `B`
//!    goes first.
//! 4. The result `[outer, B, inner]` is gathered by `copy::gather`, which
//!    also scatters assignments (in order: the last of repeated indices
//!    wins).
//!
//! This module is safe code: it computes shapes, placements and offsets,
//! and leaves every memory access to `copy`.

use crate::copy::parallel::{self, Disjoint};
use crate::copy::plan::{Axis, walk_offsets};
use crate::copy::{self, dispatch, gather};
use crate::dtype::{DType, Kind};
use crate::error::{Error, Result, invalid};
use crate::layout::{Dims, Layout, Order, fmt_dims, resolve_index, slice_indices};
use crate::tensor::Tensor;
use std::borrow::Cow;

/// One item of an indexing key, as in NumPy's `t[i, a:b:c, None, ..., idx]`.
#[derive(Clone, Debug)]
pub enum Index {
    /// An integer: drops the axis; negative counts from the end.
    Int(i64),
    /// `start:stop:step` with Python's semantics (`None` = omitted).
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
        step: Option<i64>,
    },
    /// `None` / `np.newaxis`: a new axis of size 1.
    NewAxis,
    /// `...`: as many full slices as the other items leave.
    Ellipsis,
    /// An integer tensor (advanced indexing), a boolean mask, or a 0-d
    /// boolean (NumPy's `t[True]` / `t[False]`).
    Tensor(Tensor),
}

impl Index {
    /// `:` (every entry of an axis).
    pub fn full() -> Index {
        Index::Slice {
            start: None,
            stop: None,
            step: None,
        }
    }

    /// `start:stop:step`.
    pub fn slice(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Index {
        Index::Slice { start, stop, step }
    }
}

impl From<i64> for Index {
    fn from(i: i64) -> Index {
        Index::Int(i)
    }
}

impl From<Tensor> for Index {
    fn from(t: Tensor) -> Index {
        Index::Tensor(t)
    }
}

/// A key item once its index tensors have been classified.
enum Item<'a> {
    Int(i64),
    Slice(Option<i64>, Option<i64>, i64),
    NewAxis,
    Ellipsis,
    /// An integer tensor. A 0-d one places like an integer but, as in
    /// NumPy, makes the result a copy.
    Ints(&'a Tensor),
    /// A boolean tensor of at least one dimension.
    Mask(&'a Tensor),
    /// A 0-d boolean.
    Flag(bool),
}

impl Item<'_> {
    fn is_advanced(&self) -> bool {
        matches!(self, Item::Ints(_) | Item::Mask(_) | Item::Flag(_))
    }

    /// How many source axes the item consumes.
    fn consumes(&self) -> usize {
        match self {
            Item::Int(_) | Item::Slice(..) | Item::Ints(_) => 1,
            Item::Mask(m) => m.ndim(),
            Item::NewAxis | Item::Ellipsis | Item::Flag(_) => 0,
        }
    }
}

/// The integer values of an index tensor in C order: borrowed when it is a
/// C-contiguous int64 host tensor, else converted. uint64 values beyond
/// `i64::MAX` saturate (they are out of range of any axis either way).
fn int_values(t: &Tensor) -> Result<Cow<'_, [i64]>> {
    t.device().require_host("indexing with a tensor")?;
    if t.dtype() == DType::I64
        && let Some(values) = gather::host_slice::<i64>(t)
    {
        return Ok(Cow::Borrowed(values));
    }
    if t.dtype() == DType::U64 {
        let c = t.copy(Order::C)?;
        let values = gather::host_slice::<u64>(&c).ok_or_else(|| invalid!("uint64 copy"))?;
        return Ok(Cow::Owned(
            values
                .iter()
                .map(|&v| i64::try_from(v).unwrap_or(i64::MAX))
                .collect(),
        ));
    }
    let c = t.astype(DType::I64, Order::C)?;
    let values = gather::host_slice::<i64>(&c).ok_or_else(|| invalid!("int64 copy"))?;
    Ok(Cow::Owned(values.to_vec()))
}

/// The bytes of a boolean tensor in C order (borrowed when C-contiguous).
fn mask_bytes(t: &Tensor) -> Result<Cow<'_, [u8]>> {
    t.device().require_host("indexing with a mask")?;
    if let Some(bytes) = gather::host_slice::<u8>(t) {
        return Ok(Cow::Borrowed(bytes));
    }
    let c = t.copy(Order::C)?;
    let bytes = gather::host_slice::<u8>(&c).ok_or_else(|| invalid!("mask copy"))?;
    Ok(Cow::Owned(bytes.to_vec()))
}

fn classify(key: &[Index]) -> Result<Vec<Item<'_>>> {
    key.iter()
        .map(|k| {
            Ok(match k {
                Index::Int(i) => Item::Int(*i),
                Index::Slice { start, stop, step } => Item::Slice(*start, *stop, step.unwrap_or(1)),
                Index::NewAxis => Item::NewAxis,
                Index::Ellipsis => Item::Ellipsis,
                Index::Tensor(t) => match t.dtype().kind() {
                    Kind::Bool if t.ndim() == 0 => Item::Flag(mask_bytes(t)?[0] != 0),
                    Kind::Bool => Item::Mask(t),
                    Kind::Int | Kind::UInt => Item::Ints(t),
                    _ => {
                        return Err(Error::InvalidIndex(format!(
                            "arrays used as indices must be of integer (or boolean) type, not {}",
                            t.dtype()
                        )));
                    }
                },
            })
        })
        .collect()
}

/// An advanced item and where it sits.
struct Advanced<'a> {
    item: &'a Item<'a>,
    /// Its first axis in the view `v`.
    vaxis: usize,
    /// Its first axis in the source (for error messages).
    src_axis: usize,
}

/// The key applied as far as a view goes.
struct Prepared<'a> {
    /// The source with integers, slices, new axes and `...` applied.
    view: Tensor,
    advanced: Vec<Advanced<'a>>,
    /// Advanced items adjacent in the key: `B` goes at `insert_at`.
    adjacent: bool,
    insert_at: usize,
}

/// Step 1 of the module docs.
fn prepare<'a>(t: &Tensor, items: &'a [Item<'a>]) -> Result<Prepared<'a>> {
    let ndim = t.ndim();
    let ellipses = items.iter().filter(|i| matches!(i, Item::Ellipsis)).count();
    if ellipses > 1 {
        return Err(Error::InvalidIndex(
            "an index can only have a single ellipsis ('...')".into(),
        ));
    }
    let consumed: usize = items.iter().map(Item::consumes).sum();
    if consumed > ndim {
        return Err(Error::InvalidIndex(format!(
            "too many indices for tensor: tensor is {ndim}-dimensional, but {consumed} were indexed"
        )));
    }
    let has_advanced = items.iter().any(Item::is_advanced);
    let (shape, strides) = (t.shape(), t.strides());
    let (mut vshape, mut vstrides) = (Dims::new(), Dims::new());
    // Wrapping: every term is an in-range index times its stride, so the sum
    // stays inside the validated extent whenever the result has elements
    // (and is discarded when it has none).
    let mut offset = 0i64;
    let mut ax = 0;
    let mut advanced = Vec::new();
    let mut positions = Vec::new();
    let mut insert_at = None;
    for (pos, item) in items.iter().enumerate() {
        match item {
            Item::Int(i) => {
                let r = resolve_index(*i, ax, shape[ax])?;
                offset = offset.wrapping_add(r.wrapping_mul(strides[ax]));
                ax += 1;
                if has_advanced {
                    positions.push(pos);
                    insert_at.get_or_insert(vshape.len());
                }
            }
            Item::Slice(start, stop, step) => {
                let (first, count) = slice_indices(shape[ax], *start, *stop, *step)?;
                let stride = strides[ax].checked_mul(*step).ok_or_else(|| {
                    invalid!("stride {} times step {step} overflows", strides[ax])
                })?;
                vshape.push(count);
                vstrides.push(stride);
                if count > 0 {
                    offset = offset.wrapping_add(first.wrapping_mul(strides[ax]));
                }
                ax += 1;
            }
            Item::NewAxis => {
                vshape.push(1);
                vstrides.push(0);
            }
            Item::Ellipsis => {
                for _ in 0..ndim - consumed {
                    vshape.push(shape[ax]);
                    vstrides.push(strides[ax]);
                    ax += 1;
                }
            }
            Item::Ints(_) | Item::Mask(_) | Item::Flag(_) => {
                let k = item.consumes();
                if let Item::Mask(m) = item {
                    for (j, &n) in m.shape().iter().enumerate() {
                        if n != shape[ax + j] {
                            return Err(Error::InvalidIndex(format!(
                                "boolean index did not match indexed tensor along axis {}; \
                                 size of axis is {} but size of corresponding boolean axis is {n}",
                                ax + j,
                                shape[ax + j]
                            )));
                        }
                    }
                }
                advanced.push(Advanced {
                    item,
                    vaxis: vshape.len(),
                    src_axis: ax,
                });
                positions.push(pos);
                insert_at.get_or_insert(vshape.len());
                if k == 0 {
                    // A boolean scalar indexes a new size-1 axis.
                    vshape.push(1);
                    vstrides.push(0);
                }
                for _ in 0..k {
                    vshape.push(shape[ax]);
                    vstrides.push(strides[ax]);
                    ax += 1;
                }
            }
        }
    }
    while ax < ndim {
        vshape.push(shape[ax]);
        vstrides.push(strides[ax]);
        ax += 1;
    }
    if has_advanced {
        // The gather turns element strides into byte strides; an axis of
        // length 1 may carry any stride (`t[::-2**62, idx]`) whose byte
        // value overflows, yet never moves, so it steps by 0. (A basic
        // key's view keeps NumPy's strides.)
        for (s, &n) in vstrides.iter_mut().zip(&vshape) {
            if n <= 1 {
                *s = 0;
            }
        }
    }
    let layout = Layout::new(&vshape, &vstrides)?;
    if layout.is_empty() || t.size() == 0 {
        offset = 0;
    }
    let adjacent = match (positions.first(), positions.last()) {
        (Some(&a), Some(&b)) => b - a + 1 == positions.len(),
        _ => true,
    };
    Ok(Prepared {
        view: t.view(layout, offset, t.is_writeable())?,
        advanced,
        adjacent,
        insert_at: insert_at.unwrap_or(0),
    })
}

/// Where one component's values come from.
enum Values<'a> {
    /// Raw integer indices along one axis, checked as they are read.
    Raw {
        ints: Cow<'a, [i64]>,
        size: i64,
        stride: isize,
        axis: usize,
    },
    /// Byte offsets already checked.
    Offsets(Vec<isize>),
}

/// Step 2 of the module docs: one advanced item's offsets over its shape.
struct Component<'a> {
    shape: Dims,
    values: Values<'a>,
    /// For a component smaller than `B`: the strides (in values) of its
    /// own offsets along `B`'s axes, 0 where it is broadcast.
    broadcast: Option<Vec<usize>>,
}

impl Values<'_> {
    /// Adds (or, for the first component, stores) the byte offsets of
    /// positions `start..start + out.len()`.
    fn fill(&self, start: usize, out: &mut [isize], first: bool) -> Result<()> {
        match self {
            Values::Offsets(v) => {
                let src = &v[start..start + out.len()];
                if first {
                    out.copy_from_slice(src);
                } else {
                    out.iter_mut().zip(src).for_each(|(o, &x)| *o += x);
                }
            }
            Values::Raw {
                ints,
                size,
                stride,
                axis,
            } => {
                let src = &ints[start..start + out.len()];
                for (o, &i) in out.iter_mut().zip(src) {
                    let Some(r) = in_range(i, *size) else {
                        return Err(Error::Index {
                            index: i,
                            axis: *axis,
                            size: *size,
                        });
                    };
                    let x = r as isize * stride;
                    *o = if first { x } else { *o + x };
                }
            }
        }
        Ok(())
    }

    /// Every value as a checked offset.
    fn to_offsets(&self, len: usize) -> Result<Vec<isize>> {
        let mut out = zeroed_offsets(len)?;
        self.fill(0, &mut out, true)?;
        Ok(out)
    }

    /// The first value out of range, in order (offsets were checked when
    /// they were made).
    fn first_error(&self) -> Option<Error> {
        let Values::Raw {
            ints, size, axis, ..
        } = self
        else {
            return None;
        };
        let i = *ints.iter().find(|&&i| in_range(i, *size).is_none())?;
        Some(Error::Index {
            index: i,
            axis: *axis,
            size: *size,
        })
    }
}

/// Index `i` of an axis of `size` (negative counts from the end), or `None`
/// out of range.
#[inline(always)]
fn in_range(i: i64, size: i64) -> Option<i64> {
    let r = if i < 0 { i.wrapping_add(size) } else { i };
    // One unsigned comparison rejects both ends.
    ((r as u64) < size as u64).then_some(r)
}

/// The byte offsets (from element 0) of a mask's true positions, in C
/// order, for a view whose masked axes have `strides` (bytes).
fn mask_offsets(mask: &[u8], shape: &[i64], strides: &[isize]) -> Vec<isize> {
    let mut out = Vec::with_capacity(gather::count_true(mask));
    let Some((&n_last, outer)) = shape.split_last() else {
        return out;
    };
    let s_last = strides[strides.len() - 1];
    let n_last = n_last as usize;
    if n_last == 0 || outer.contains(&0) {
        return out;
    }
    let axes: Vec<Axis> = outer
        .iter()
        .zip(strides)
        .map(|(&n, &s)| Axis {
            len: n as usize,
            dst: s,
            src: 0,
        })
        .collect();
    let mut rows = mask.chunks_exact(n_last);
    walk_offsets(&axes, |base, _| {
        let row = rows.next().expect("one mask row per outer position");
        for (k, &b) in row.iter().enumerate() {
            if b != 0 {
                out.push(base + k as isize * s_last);
            }
        }
    });
    out
}

/// NumPy's broadcasting of index shapes.
fn broadcast_shapes(shapes: &[&[i64]]) -> Option<Dims> {
    let ndim = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = Dims::from_elem(1, ndim);
    for s in shapes {
        for (k, &n) in s.iter().enumerate() {
            let o = &mut out[ndim - s.len() + k];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// `n` zero offsets, or `OUT_OF_MEMORY` (an index tensor's broadcast shape
/// can ask for far more than its own size).
fn zeroed_offsets(n: usize) -> Result<Vec<isize>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| Error::OutOfMemory(format!("{n} index offsets")))?;
    out.resize(n, 0);
    Ok(out)
}

/// The strides (in elements of a C-order array of `shape`) of that array
/// along the axes of `target`, which `shape` broadcasts to: 0 where it is
/// broadcast.
fn broadcast_strides(shape: &[i64], target: &[i64]) -> Vec<usize> {
    let lead = target.len() - shape.len();
    let mut strides = vec![0usize; target.len()];
    let mut step = 1usize;
    for k in (0..shape.len()).rev() {
        if shape[k] != 1 {
            strides[lead + k] = step;
        }
        step *= shape[k] as usize;
    }
    strides
}

/// Adds the values of broadcast components (`(values, strides along
/// b_shape)`) at positions `start..start + out.len()` of `b_shape` (C
/// order) to `out`, one run of the last axis at a time: a component either
/// runs along it (stride 1) or is constant on it (stride 0), so each run is
/// a vectorisable add. No `B`-sized copy of a component is ever made.
fn add_broadcast(
    b_shape: &[i64],
    components: &[(&[isize], &[usize])],
    start: usize,
    out: &mut [isize],
) {
    if out.is_empty() || components.is_empty() {
        return;
    }
    let nd = b_shape.len();
    let last = b_shape[nd - 1] as usize;
    let mut index = vec![0usize; nd];
    let mut rest = start;
    for a in (0..nd).rev() {
        let n = b_shape[a] as usize;
        index[a] = rest % n;
        rest /= n;
    }
    let mut pos = 0;
    while pos < out.len() {
        let run = (last - index[nd - 1]).min(out.len() - pos);
        let dst = &mut out[pos..pos + run];
        for &(values, strides) in components {
            let base: usize = index.iter().zip(strides).map(|(&i, &s)| i * s).sum();
            if strides[nd - 1] == 0 {
                let x = values[base];
                dst.iter_mut().for_each(|o| *o += x);
            } else {
                dst.iter_mut()
                    .zip(&values[base..base + run])
                    .for_each(|(o, &x)| *o += x);
            }
        }
        pos += run;
        index[nd - 1] += run;
        if index[nd - 1] == last {
            index[nd - 1] = 0;
            for a in (0..nd - 1).rev() {
                index[a] += 1;
                if index[a] < b_shape[a] as usize {
                    break;
                }
                index[a] = 0;
            }
        }
    }
}

/// Steps 2 and 3: the components, their broadcast shape `B`, and the
/// selection's axes around it.
struct Plan<'a> {
    components: Vec<Component<'a>>,
    b_shape: Dims,
    b_size: usize,
    /// Result shape `[outer, B, inner]`.
    shape: Dims,
    outer: (Dims, Dims),
    inner: (Dims, Dims),
}

fn plan<'a>(p: &Prepared<'a>) -> Result<Plan<'a>> {
    let v = &p.view;
    let item = v.dtype().itemsize() as isize;
    let (vs, vt) = (v.shape(), v.strides());
    let mut components = Vec::with_capacity(p.advanced.len());
    let mut taken = vec![false; vs.len()];
    for a in &p.advanced {
        let component = match a.item {
            Item::Ints(t) => Component {
                shape: Dims::from_slice(t.shape()),
                broadcast: None,
                values: Values::Raw {
                    ints: int_values(t)?,
                    size: vs[a.vaxis],
                    stride: vt[a.vaxis] as isize * item,
                    axis: a.src_axis,
                },
            },
            Item::Mask(m) => {
                let k = m.ndim();
                let strides: Vec<isize> = vt[a.vaxis..a.vaxis + k]
                    .iter()
                    .map(|&s| s as isize * item)
                    .collect();
                let offsets = mask_offsets(&mask_bytes(m)?, m.shape(), &strides);
                Component {
                    shape: Dims::from_elem(offsets.len() as i64, 1),
                    values: Values::Offsets(offsets),
                    broadcast: None,
                }
            }
            Item::Flag(b) => Component {
                shape: Dims::from_elem(i64::from(*b), 1),
                values: Values::Offsets(if *b { vec![0] } else { vec![] }),
                broadcast: None,
            },
            _ => unreachable!("only advanced items are recorded"),
        };
        for t in &mut taken[a.vaxis..a.vaxis + a.item.consumes().max(1)] {
            *t = true;
        }
        components.push(component);
    }
    let shapes: Vec<&[i64]> = components.iter().map(|c| &c.shape[..]).collect();
    let b_shape = broadcast_shapes(&shapes).ok_or_else(|| {
        let list: Vec<String> = shapes.iter().map(|s| fmt_dims(s)).collect();
        Error::InvalidIndex(format!(
            "shape mismatch: indexing arrays could not be broadcast together with shapes {}",
            list.join(" ")
        ))
    })?;
    let rest: Vec<usize> = (0..vs.len()).filter(|&a| !taken[a]).collect();
    let split = if p.adjacent {
        rest.partition_point(|&a| a < p.insert_at)
    } else {
        0
    };
    let dims = |axes: &[usize]| -> (Dims, Dims) {
        (
            axes.iter().map(|&a| vs[a]).collect(),
            axes.iter().map(|&a| vt[a]).collect(),
        )
    };
    let (outer, inner) = (dims(&rest[..split]), dims(&rest[split..]));
    let mut shape = outer.0.clone();
    shape.extend_from_slice(&b_shape);
    shape.extend_from_slice(&inner.0);
    // Checked before anything of this size is allocated: index tensors of
    // shapes (n, 1, 1), (1, n, 1), (1, 1, n) ask for n³ positions.
    crate::layout::shape_size(&shape)?;
    let b_size = crate::layout::shape_size(&b_shape)?;
    // A component smaller than `B` is checked once, up front, and read
    // through broadcast strides (see `add_broadcast`).
    for k in 0..components.len() {
        let c = &components[k];
        let size: i64 = c.shape.iter().product();
        if size != b_size {
            // NumPy names the first bad value in key order, which may be
            // in an earlier, full-size component.
            let offsets = c.values.to_offsets(size as usize).map_err(|e| {
                let earlier = components[..k].iter().find_map(|c| c.values.first_error());
                earlier.unwrap_or(e)
            })?;
            let c = &mut components[k];
            c.values = Values::Offsets(offsets);
            c.broadcast = Some(broadcast_strides(&c.shape, &b_shape));
        }
    }
    Ok(Plan {
        components,
        b_shape,
        b_size: b_size as usize,
        shape,
        outer,
        inner,
    })
}

impl Plan<'_> {
    fn around(&self) -> gather::Around<'_> {
        gather::Around {
            outer_shape: &self.outer.0,
            outer_strides: &self.outer.1,
            inner_shape: &self.inner.0,
            inner_strides: &self.inner.1,
        }
    }

    /// The byte offsets of positions `start..start + out.len()` of `B`.
    fn fill(&self, start: usize, out: &mut [isize]) -> Result<()> {
        let mut first = true;
        for c in self.components.iter().filter(|c| c.broadcast.is_none()) {
            c.values.fill(start, out, first)?;
            first = false;
        }
        if first {
            out.fill(0);
        }
        let broadcast: Vec<(&[isize], &[usize])> = self
            .components
            .iter()
            .filter_map(|c| match (&c.values, &c.broadcast) {
                (Values::Offsets(v), Some(s)) => Some((&v[..], &s[..])),
                _ => None,
            })
            .collect();
        add_broadcast(&self.b_shape, &broadcast, start, out);
        Ok(())
    }

    /// Every offset of `B`, computed across threads chunk by chunk.
    fn offsets(&self) -> Result<Vec<isize>> {
        let mut out = zeroed_offsets(self.b_size)?;
        let base = Disjoint::new(out.as_mut_ptr());
        let found = parallel::try_parallel_for(self.b_size, 16 * self.b_size, CHUNK, |r| {
            // SAFETY: `r` is this piece's own part of `out`.
            let part = unsafe { std::slice::from_raw_parts_mut(base.get().add(r.start), r.len()) };
            for (k, chunk) in part.chunks_mut(CHUNK).enumerate() {
                self.fill(r.start + k * CHUNK, chunk)?;
            }
            Ok(())
        });
        found.map_err(|e| self.first_error().unwrap_or(e))?;
        Ok(out)
    }

    /// The error NumPy reports for this key's index values: the first value
    /// out of range of the first component that has one (components in
    /// key order). Chunked and threaded fills find *an* error; this one
    /// names the same error however the work was cut.
    fn first_error(&self) -> Option<Error> {
        self.components.iter().find_map(|c| c.values.first_error())
    }
}

/// The bytes of a mask that covers every axis of a C-contiguous view on
/// its own: the case the mask fast paths serve.
fn lone_full_mask<'a>(p: &Prepared<'a>) -> Option<&'a Tensor> {
    match p.advanced.as_slice() {
        [
            Advanced {
                item: Item::Mask(m),
                ..
            },
        ] if m.ndim() == p.view.ndim() && p.view.layout().is_c_contiguous() => Some(m),
        _ => None,
    }
}

/// Positions of `B` whose offsets are computed at a time when nothing is
/// placed before `B`: small enough to stay in L1 next to the data.
const CHUNK: usize = 2048;

/// NumPy refuses to store a NaN or infinite float scalar in an integer
/// tensor ("cannot convert float NaN to integer"), where an array of such
/// values is cast (with a warning). `value` is that scalar when 0-d.
fn check_scalar_value(value: &Tensor, dst: DType) -> Result<()> {
    if value.ndim() == 0
        && matches!(
            value.dtype().kind(),
            Kind::Float | Kind::BFloat | Kind::Float8
        )
    {
        copy::scalar::check_float_to_int(value.get_f64(&[])?, dst)?;
    }
    Ok(())
}

impl Tensor {
    /// NumPy's `t[key]`: a view for a basic key (integers, slices, new axes,
    /// `...`), a new C-contiguous tensor for an advanced one (any integer or
    /// boolean index tensor). See the module docs for the semantics.
    ///
    /// Errors: `INDEX` for an index out of range ("index 5 is out of bounds
    /// for axis 1 with size 3"), too many indices, more than one `...`, a
    /// mask whose shape does not match, index tensors that do not
    /// broadcast, or index tensors that are neither integer nor boolean;
    /// `INVALID_ARGUMENT` for a zero slice step.
    pub fn index(&self, key: &[Index]) -> Result<Tensor> {
        let items = classify(key)?;
        let p = prepare(self, &items)?;
        if p.advanced.is_empty() {
            return Ok(p.view);
        }
        if let Some(out) = dispatch::staged_read(self, Order::C, |host| host.index(key)) {
            return out;
        }
        let v = &p.view;
        v.device().require_host("advanced indexing")?;
        if let Some(m) = lone_full_mask(&p) {
            return gather::mask_select(v, &mask_bytes(m)?);
        }
        let plan = plan(&p)?;
        let out = copy::new_output(v.dtype(), Layout::compact(&plan.shape, Order::C)?)?;
        let around = plan.around();
        if !plan.outer.0.is_empty() {
            let offsets = plan.offsets()?;
            gather::gather_all(v, &around, &offsets, &out)?;
            return Ok(out);
        }
        // Nothing before `B`: each piece computes its offsets chunk by
        // chunk, where they stay in cache between being computed and used.
        let found = parallel::try_parallel_for(plan.b_size, 2 * out.nbytes(), CHUNK, |r| {
            let mut buf = vec![0isize; CHUNK.min(r.len())];
            for start in r.clone().step_by(CHUNK) {
                let n = CHUNK.min(r.end - start);
                plan.fill(start, &mut buf[..n])?;
                gather::gather(v, &around, &buf[..n], start, plan.b_size, &out)?;
            }
            Ok(())
        });
        found.map_err(|e| plan.first_error().unwrap_or(e))?;
        Ok(out)
    }

    /// NumPy's `t[key] = value`: `value` is broadcast to the selection's
    /// shape and cast to this tensor's dtype; with an advanced key the last
    /// of repeated indices wins. Nothing is written when it fails.
    ///
    /// Errors: those of [`Tensor::index`]; `READ_ONLY` ("assignment
    /// destination is read-only"); `INVALID_ARGUMENT` when `value` does not
    /// broadcast, or when a NaN or infinite float scalar would be stored
    /// in an integer tensor ("cannot convert float NaN to integer"), or
    /// while other handles share this tensor's memory (see
    /// [`Tensor::is_exclusive`]; [`Tensor::index_put_shared`] writes anyway).
    pub fn index_put(&mut self, key: &[Index], value: &Tensor) -> Result<()> {
        self.require_writeable()?;
        self.require_exclusive("Tensor::index_put_shared")?;
        // SAFETY: no other handle reaches this memory (checked above), and
        // `&mut self` keeps this one from being used meanwhile.
        unsafe { self.index_put_shared(key, value) }
    }

    /// [`Tensor::index_put`] without the exclusivity check.
    ///
    /// # Safety
    /// No other thread may read or write this tensor's elements during the
    /// call, through any handle of the same memory (docs/rules.md §9).
    pub unsafe fn index_put_shared(&self, key: &[Index], value: &Tensor) -> Result<()> {
        self.require_writeable()?;
        // SAFETY (the closure): `host` is this call's private host copy of
        // the destination's bytes (a view of it, so never "exclusive").
        if let Some(done) = dispatch::staged_write(self, value, |host, value| unsafe {
            host.index_put_shared(key, value)
        }) {
            return done;
        }
        check_scalar_value(value, self.dtype())?;
        let items = classify(key)?;
        let p = prepare(self, &items)?;
        let dtype = self.dtype();
        let mut v = p.view.clone();
        if p.advanced.is_empty() {
            // Through the crate-level copy: `v` is a view of `self`, so not
            // exclusive; the caller's promise covers it.
            return copy::copy_into(&v, value, copy::CastOptions::default());
        }
        v.device().require_host("advanced indexing")?;
        value.device().require_host("reading elements")?;
        if let Some(m) = lone_full_mask(&p)
            && value.size() == 1
        {
            let one = value.astype(dtype, Order::C)?;
            return gather::mask_fill(&mut v, &mask_bytes(m)?, &one);
        }
        let plan = plan(&p)?;
        let offsets = plan.offsets()?;
        let broadcast = copy::broadcast_source(value.layout(), &plan.shape).map_err(|_| {
            invalid!(
                "shape mismatch: value array of shape {} could not be broadcast to indexing result of shape {}",
                fmt_dims(value.shape()),
                fmt_dims(&plan.shape)
            )
        })?;
        let value = if value.size() == 1 {
            value.astype(dtype, Order::C)?
        } else if value.dtype() == dtype
            && value.shape() == &plan.shape[..]
            && value.layout().is_c_contiguous()
            && !v.may_share_memory(value)
        {
            value.clone()
        } else {
            let b = value.as_strided(broadcast.shape(), broadcast.strides())?;
            copy::copy_to_new(&b, dtype, Order::C)?
        };
        gather::scatter(&mut v, &plan.around(), &offsets, &value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new C-order tensor of `shape` holding `values` in order: filled
    /// as a 1-D tensor (the only handle, so writable), then reshaped into
    /// a root of its own.
    fn filled(dtype: DType, values: impl ExactSizeIterator<Item = f64>, shape: &[i64]) -> Tensor {
        let mut flat = Tensor::empty(dtype, &[values.len() as i64], Order::C).unwrap();
        for (i, v) in values.enumerate() {
            flat.set_f64(&[i as i64], v).unwrap();
        }
        flat.reshape(shape, crate::tensor::CopyMode::Always)
            .unwrap()
    }

    fn arange(shape: &[i64]) -> Tensor {
        let n = shape.iter().product::<i64>() as usize;
        filled(DType::F64, (0..n).map(|i| i as f64), shape)
    }

    fn ints(values: &[i64], shape: &[i64]) -> Tensor {
        filled(DType::I64, values.iter().map(|&v| v as f64), shape)
    }

    fn bools(values: &[bool], shape: &[i64]) -> Tensor {
        filled(
            DType::BOOL,
            values.iter().map(|&v| f64::from(u8::from(v))),
            shape,
        )
    }

    fn values(t: &Tensor) -> Vec<f64> {
        let c = t.copy(Order::C).unwrap();
        let n = c.size();
        let flat = c.reshape(&[n], crate::tensor::CopyMode::Never).unwrap();
        (0..n).map(|i| flat.get_f64(&[i]).unwrap()).collect()
    }

    #[test]
    fn broadcast_shapes_follow_numpy() {
        assert_eq!(
            broadcast_shapes(&[&[2, 1], &[3]]).unwrap().as_slice(),
            &[2, 3]
        );
        assert_eq!(
            broadcast_shapes(&[&[4], &[1, 4], &[2, 1, 1]])
                .unwrap()
                .as_slice(),
            &[2, 1, 4]
        );
        assert_eq!(broadcast_shapes(&[&[0], &[1]]).unwrap().as_slice(), &[0]);
        assert!(broadcast_shapes(&[&[2], &[3]]).is_none());
        assert_eq!(broadcast_shapes(&[]).unwrap().as_slice(), &[] as &[i64]);
    }

    #[test]
    fn broadcast_components_add_by_runs() {
        // [10, 20] as shape (2, 1) plus [1, 2, 3] as shape (3,), over B = (2, 3).
        let a = [10isize, 20];
        let b = [1isize, 2, 3];
        let (sa, sb) = (
            broadcast_strides(&[2, 1], &[2, 3]),
            broadcast_strides(&[3], &[2, 3]),
        );
        assert_eq!((sa.as_slice(), sb.as_slice()), (&[1, 0][..], &[0, 1][..]));
        let comps = [(&a[..], &sa[..]), (&b[..], &sb[..])];
        let mut out = vec![0isize; 6];
        add_broadcast(&[2, 3], &comps, 0, &mut out);
        assert_eq!(out, vec![11, 12, 13, 21, 22, 23]);
        // From the middle of a row, across the row boundary.
        let mut out = vec![100isize; 3];
        add_broadcast(&[2, 3], &comps, 2, &mut out);
        assert_eq!(out, vec![113, 121, 122]);
        add_broadcast(&[0, 3], &comps, 0, &mut []);
    }

    #[test]
    fn mask_offsets_walk_in_c_order() {
        // A 2x3 mask over byte strides (24, 8).
        let m = [1, 0, 1, 0, 1, 1];
        assert_eq!(mask_offsets(&m, &[2, 3], &[24, 8]), vec![0, 16, 32, 40]);
        // Negative strides count down.
        assert_eq!(mask_offsets(&[1, 1], &[2], &[-8]), vec![0, -8]);
        assert!(mask_offsets(&[], &[0, 3], &[24, 8]).is_empty());
    }

    #[test]
    fn placement_adjacent_versus_separated() {
        let t = arange(&[2, 3, 4, 5]);
        let i = || Index::Tensor(ints(&[0, 1], &[2]));
        // Adjacent: B replaces axes 1 and 2 in place.
        let r = t.index(&[Index::full(), i(), i()]).unwrap();
        assert_eq!(r.shape(), &[2, 2, 5]);
        // Separated by a slice: B goes first.
        let r = t.index(&[Index::full(), i(), Index::full(), i()]).unwrap();
        assert_eq!(r.shape(), &[2, 2, 4]);
        // An integer counts as advanced: adjacent to the array.
        let r = t.index(&[Index::full(), Index::Int(1), i()]).unwrap();
        assert_eq!(r.shape(), &[2, 2, 5]);
        // ... and separated from it by a slice.
        let r = t.index(&[Index::Int(1), Index::full(), i()]).unwrap();
        assert_eq!(r.shape(), &[2, 3, 5]);
        // A new axis separates.
        let r = t.index(&[i(), Index::NewAxis, i()]).unwrap();
        assert_eq!(r.shape(), &[2, 1, 4, 5]);
    }

    #[test]
    fn gathers_values() {
        let t = arange(&[3, 4]);
        // t[[0, 2], [1, 3]] = [1, 11]
        let r = t
            .index(&[
                Index::Tensor(ints(&[0, 2], &[2])),
                Index::Tensor(ints(&[1, -1], &[2])),
            ])
            .unwrap();
        assert_eq!(values(&r), vec![1.0, 11.0]);
        // Broadcast (2, 1) with (2,): t[[[0], [2]], [0, 3]] = [[0, 3], [8, 11]]
        let r = t
            .index(&[
                Index::Tensor(ints(&[0, 2], &[2, 1])),
                Index::Tensor(ints(&[0, 3], &[2])),
            ])
            .unwrap();
        assert_eq!(r.shape(), &[2, 2]);
        assert_eq!(values(&r), vec![0.0, 3.0, 8.0, 11.0]);
        // A 0-d integer tensor places like an integer but copies: t[array(2)].
        let r = t.index(&[Index::Tensor(ints(&[2], &[]))]).unwrap();
        assert_eq!(r.shape(), &[4]);
        assert_eq!(values(&r), vec![8.0, 9.0, 10.0, 11.0]);
        assert!(!r.may_share_memory(&t));
        // t[:, [3, 0]]
        let r = t
            .index(&[Index::full(), Index::Tensor(ints(&[3, 0], &[2]))])
            .unwrap();
        assert_eq!(values(&r), vec![3.0, 0.0, 7.0, 4.0, 11.0, 8.0]);
    }

    #[test]
    fn masks_and_boolean_scalars() {
        let t = arange(&[2, 3]);
        let m = bools(&[true, false, true, false, false, true], &[2, 3]);
        assert_eq!(
            values(&t.index(&[Index::Tensor(m)]).unwrap()),
            vec![0.0, 2.0, 5.0]
        );
        let rows = bools(&[false, true], &[2]);
        let r = t.index(&[Index::Tensor(rows)]).unwrap();
        assert_eq!(r.shape(), &[1, 3]);
        assert_eq!(values(&r), vec![3.0, 4.0, 5.0]);
        let yes = bools(&[true], &[]);
        assert_eq!(
            t.index(&[Index::Tensor(yes.clone())]).unwrap().shape(),
            &[1, 2, 3]
        );
        let no = bools(&[false], &[]);
        assert_eq!(t.index(&[Index::Tensor(no)]).unwrap().shape(), &[0, 2, 3]);
        // A mask with an integer array: nonzero positions broadcast with it.
        let cols = bools(&[true, false, true], &[3]);
        let r = t
            .index(&[Index::Tensor(ints(&[1, 0], &[2])), Index::Tensor(cols)])
            .unwrap();
        assert_eq!(values(&r), vec![3.0, 2.0]);
    }

    #[test]
    fn errors_follow_numpy() {
        let t = arange(&[2, 3]);
        let e = t.index(&[Index::Int(0), Index::Int(5)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "index 5 is out of bounds for axis 1 with size 3"
        );
        let e = t
            .index(&[Index::full(), Index::Tensor(ints(&[0, -4], &[2]))])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "index -4 is out of bounds for axis 1 with size 3"
        );
        let e = t
            .index(&[Index::Int(0), Index::Int(0), Index::Int(0)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "too many indices for tensor: tensor is 2-dimensional, but 3 were indexed"
        );
        let e = t.index(&[Index::Ellipsis, Index::Ellipsis]).unwrap_err();
        assert!(matches!(e, Error::InvalidIndex(_)));
        let e = t
            .index(&[
                Index::Tensor(ints(&[0, 1], &[2])),
                Index::Tensor(ints(&[0, 1, 2], &[3])),
            ])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: indexing arrays could not be broadcast together with shapes (2,) (3,)"
        );
        let e = t
            .index(&[Index::Tensor(bools(&[true; 3], &[3]))])
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("boolean index did not match indexed tensor along axis 0")
        );
        let f = Tensor::zeros(DType::F32, &[2], Order::C).unwrap();
        let e = t.index(&[Index::Tensor(f)]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("arrays used as indices must be of integer")
        );
        let e = t.index(&[Index::slice(None, None, Some(0))]).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)));
    }

    #[test]
    fn huge_broadcast_shapes_fail_cleanly() {
        // Index tensors of shapes (n, 1, 1), (1, n, 1), (1, 1, n) would
        // broadcast to n³ positions (2⁶³ here): refused before anything of
        // that size is allocated.
        let n = 1i64 << 21;
        let one = ints(&[0], &[1, 1, 1]);
        let key: Vec<Index> = [[n, 1, 1], [1, n, 1], [1, 1, n]]
            .iter()
            .map(|s| Index::Tensor(one.broadcast_to(s).unwrap()))
            .collect();
        let wide = arange(&[1, 1, 1]);
        let e = wide.index(&key).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
        let mut w = wide.copy(Order::C).unwrap();
        let e = w.index_put(&key, &ints(&[1], &[])).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    }

    #[test]
    fn empty_blocks_around_the_advanced_axes() {
        // t[None, 4:, ..., mask]: the placed-before block has a 0 axis.
        let t = arange(&[4, 4, 2]);
        let mask = bools(&[true, true], &[2]);
        let key = [
            Index::NewAxis,
            Index::slice(Some(4), None, None),
            Index::Ellipsis,
            Index::Tensor(mask),
        ];
        assert_eq!(t.index(&key).unwrap().shape(), &[1, 0, 4, 2]);
        let mut w = t.copy(Order::C).unwrap();
        w.index_put(&key, &ints(&[1], &[])).unwrap();
        assert_eq!(values(&w), values(&t));
    }

    #[test]
    fn index_put_last_wins_broadcasts_and_casts() {
        let mut t = arange(&[3]);
        let idx = Index::Tensor(ints(&[0, 2, 0], &[3]));
        let v = ints(&[7, 8, 9], &[3]);
        t.index_put(&[idx], &v).unwrap();
        assert_eq!(values(&t), vec![9.0, 1.0, 8.0]);
        let mut t = arange(&[2, 3]);
        let v = ints(&[5], &[]);
        t.index_put(&[Index::full(), Index::Tensor(ints(&[2], &[1]))], &v)
            .unwrap();
        assert_eq!(values(&t), vec![0.0, 1.0, 5.0, 3.0, 4.0, 5.0]);
        let mut ro = arange(&[2]);
        ro.set_writeable(false).unwrap();
        let e = ro.index_put(&[Index::Int(0)], &v).unwrap_err();
        assert!(matches!(e, Error::ReadOnly(_)));
    }

    #[test]
    fn nan_into_integers_is_refused() {
        let mut t = Tensor::zeros(DType::I32, &[2], Order::C).unwrap();
        let mut nan = Tensor::zeros(DType::F64, &[], Order::C).unwrap();
        nan.set_f64(&[], f64::NAN).unwrap();
        let e = t.index_put(&[Index::Int(0)], &nan).unwrap_err();
        assert_eq!(e.to_string(), "cannot convert float NaN to integer");
        nan.set_f64(&[], f64::NEG_INFINITY).unwrap();
        let e = t.index_put(&[Index::Int(0)], &nan).unwrap_err();
        assert_eq!(e.to_string(), "cannot convert float infinity to integer");
        let e = t.set_f64(&[0], f64::NAN).unwrap_err();
        assert_eq!(e.to_string(), "cannot convert float NaN to integer");
    }
}
