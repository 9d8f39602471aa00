//! Shape and stride arithmetic, in elements. Pure functions over integers: no
//! pointers, no memory, no dtypes beyond an itemsize for byte extents.
//!
//! Every view transform of docs/rules.md §3 lives here and returns the new layout
//! plus the element offset of the view's first element relative to the
//! source's. All arithmetic is checked; a layout whose element offsets do not
//! fit in `i64` cannot be constructed, and [`Layout::byte_bounds`] rejects one
//! whose byte extent does not fit in `isize`.

use crate::error::{Error, Result, invalid};
use smallvec::SmallVec;

/// The largest number of dimensions a tensor may have.
pub const MAX_NDIM: usize = 64;

/// Shape or strides; inline for the common small ranks, so views and
/// imports of small tensors allocate nothing for their layout.
pub type Dims = SmallVec<[i64; 4]>;

/// Memory order of a new buffer or a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Row-major: the last axis varies fastest.
    C,
    /// Column-major: the first axis varies fastest.
    F,
    /// Keep the source's axis order (by stride magnitude), as NumPy's `order="K"`.
    K,
}

/// Above this many elements, the exact (enumerating) overlap and
/// shared-memory checks give way to conservative answers.
pub const EXACT_CHECK_LIMIT: i64 = 1 << 20;

/// A validated shape with strides in elements.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Dims,
    strides: Dims,
    /// Lowest and highest element offset (`None` without elements), computed
    /// once with checked arithmetic at construction: every extent question
    /// afterwards is O(1).
    bounds: Option<(i64, i64)>,
}

// By hand: the derived clone extends element by element, and every DLPack
// export clones a layout (`from_slice` copies the `Copy` dims in one go).
impl Clone for Layout {
    fn clone(&self) -> Layout {
        Layout {
            shape: Dims::from_slice(&self.shape),
            strides: Dims::from_slice(&self.strides),
            bounds: self.bounds,
        }
    }
}

/// The checked extent computation behind [`Layout::element_bounds`].
fn compute_bounds(shape: &[i64], strides: &[i64]) -> Result<Option<(i64, i64)>> {
    if shape.contains(&0) {
        return Ok(None);
    }
    let (mut lo, mut hi) = (0i64, 0i64);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = (n - 1)
            .checked_mul(s)
            .ok_or_else(|| overflow("stride * (dim - 1)"))?;
        if reach < 0 {
            lo = lo
                .checked_add(reach)
                .ok_or_else(|| overflow("lowest element offset"))?;
        } else {
            hi = hi
                .checked_add(reach)
                .ok_or_else(|| overflow("highest element offset"))?;
        }
    }
    Ok(Some((lo, hi)))
}

/// Turns an axis that may count from the end into an index, or fails with the
/// NumPy wording.
pub fn normalize_axis(axis: i64, ndim: usize) -> Result<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    if (0..n).contains(&a) {
        Ok(a as usize)
    } else {
        Err(invalid!(
            "axis {axis} is out of bounds for tensor of dimension {ndim}"
        ))
    }
}

fn check_ndim(ndim: usize) -> Result<()> {
    if ndim > MAX_NDIM {
        Err(invalid!("ndim {ndim} exceeds the maximum of {MAX_NDIM}"))
    } else {
        Ok(())
    }
}

fn overflow(what: &str) -> Error {
    invalid!("{what} overflows: the layout's extent does not fit in 64 bits")
}

/// Formats a shape like Python's tuple repr: `(2, 3)`, `(5,)`, `()`.
pub fn fmt_dims(dims: &[i64]) -> String {
    match dims {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Number of elements of `shape`. Fails on a negative dimension or if the
/// product of the non-zero dimensions overflows `isize` (as NumPy does, so a
/// size-0 tensor cannot hide an absurd shape).
pub fn shape_size(shape: &[i64]) -> Result<i64> {
    check_ndim(shape.len())?;
    let mut nonzero: i64 = 1;
    let mut has_zero = false;
    for (axis, &d) in shape.iter().enumerate() {
        if d < 0 {
            return Err(invalid!(
                "negative dimension {d} at axis {axis} in shape {}",
                fmt_dims(shape)
            ));
        }
        if d == 0 {
            has_zero = true;
        } else {
            nonzero = nonzero
                .checked_mul(d)
                .filter(|&s| s <= isize::MAX as i64)
                .ok_or_else(|| invalid!("shape {} has too many elements", fmt_dims(shape)))?;
        }
    }
    Ok(if has_zero { 0 } else { nonzero })
}

/// Strides of a compact buffer of `shape` in order C or F (K means C here).
/// Size-0 dimensions count as 1, as in NumPy, so strides stay meaningful.
pub fn compact_strides(shape: &[i64], order: Order) -> Result<Dims> {
    shape_size(shape)?;
    let mut strides: Dims = SmallVec::from_elem(0, shape.len());
    let mut step: i64 = 1;
    let mut assign = |i: usize| -> Result<()> {
        strides[i] = step;
        step = step
            .checked_mul(shape[i].max(1))
            .ok_or_else(|| overflow("compact strides"))?;
        Ok(())
    };
    match order {
        Order::F => (0..shape.len()).try_for_each(&mut assign)?,
        Order::C | Order::K => (0..shape.len()).rev().try_for_each(&mut assign)?,
    }
    Ok(strides)
}

impl Layout {
    /// Validates `shape` and `strides` (same length, `ndim <= 64`, dims >= 0,
    /// element offsets representable).
    pub fn new(shape: &[i64], strides: &[i64]) -> Result<Layout> {
        if shape.len() != strides.len() {
            return Err(invalid!(
                "shape has {} dimensions but strides has {}",
                shape.len(),
                strides.len()
            ));
        }
        shape_size(shape)?;
        let bounds = compute_bounds(shape, strides)?;
        Ok(Layout {
            shape: Dims::from_slice(shape),
            strides: Dims::from_slice(strides),
            bounds,
        })
    }

    /// A compact layout of `shape` in the given order.
    pub fn compact(shape: &[i64], order: Order) -> Result<Layout> {
        let strides = compact_strides(shape, order)?;
        Layout::new(shape, &strides)
    }

    /// Builds from parts already known to be valid (internal: results of
    /// transforms of a valid layout).
    fn from_parts(shape: Dims, strides: Dims) -> Result<Layout> {
        shape_size(&shape)?;
        let bounds = compute_bounds(&shape, &strides)?;
        Ok(Layout {
            shape,
            strides,
            bounds,
        })
    }

    /// Builds the result of a transform that cannot grow the extent (dropping,
    /// reordering or negating axes, adding size-1 axes) of a valid layout.
    fn derived(shape: Dims, strides: Dims) -> Layout {
        let bounds = compute_bounds(&shape, &strides)
            .expect("a sub-layout of a valid layout is representable");
        Layout {
            shape,
            strides,
            bounds,
        }
    }

    pub fn shape(&self) -> &[i64] {
        &self.shape
    }

    pub fn strides(&self) -> &[i64] {
        &self.strides
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// True when the layout has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.bounds.is_none()
    }

    /// Number of elements.
    pub fn size(&self) -> i64 {
        // Validated at construction.
        self.shape.iter().product()
    }

    /// The smallest and largest element offset reached, or `None` for a
    /// tensor without elements.
    pub fn element_bounds(&self) -> Result<Option<(i64, i64)>> {
        Ok(self.bounds)
    }

    /// The byte range `[start, end)` touched by the elements, relative to
    /// element 0, or `None` if there are no elements. Fails if it does not
    /// fit in `isize`.
    pub fn byte_bounds(&self, itemsize: usize) -> Result<Option<(isize, isize)>> {
        let Some((lo, hi)) = self.element_bounds()? else {
            return Ok(None);
        };
        let item = itemsize as i64;
        let bounds = lo
            .checked_mul(item)
            .zip(hi.checked_add(1).and_then(|h| h.checked_mul(item)))
            .filter(|&(start, end)| end.checked_sub(start).is_some())
            .and_then(|(start, end)| {
                Some((isize::try_from(start).ok()?, isize::try_from(end).ok()?))
            });
        match bounds {
            Some(b) => Ok(Some(b)),
            None => Err(invalid!(
                "layout of shape {} with strides {} spans more bytes than fit in isize",
                fmt_dims(&self.shape),
                fmt_dims(&self.strides)
            )),
        }
    }

    /// NumPy's limits for elements of `itemsize` bytes, which bind layouts
    /// without elements too (NumPy refuses `np.empty((0, 2**60), 'f8')`
    /// with "array is too big", and its strides are bytes in an `intp`):
    /// the byte size of the non-zero dimensions fits `isize`, and the byte
    /// stride of every axis that steps (length above 1) fits `i64`. A size-0 tensor therefore cannot carry a
    /// shape or strides that NumPy, DLPack consumers or a `.npy` reader
    /// could not represent.
    pub fn check_bytes(&self, itemsize: usize, dtype_name: &dyn std::fmt::Display) -> Result<()> {
        let item = itemsize as i64;
        let nonzero = self
            .shape
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(item, |acc, &d| acc.checked_mul(d));
        if nonzero.is_none_or(|n| n > isize::MAX as i64) {
            return Err(invalid!(
                "shape {} of {dtype_name} needs more bytes than fit in isize (counting its non-zero dimensions, as NumPy does)",
                fmt_dims(&self.shape)
            ));
        }
        // Axes of length 0 or 1 never step, so their strides are never
        // used (NumPy ignores them too); the others' must be bytes.
        if let Some(axis) = (0..self.ndim())
            .position(|a| self.shape[a] > 1 && self.strides[a].checked_mul(item).is_none())
        {
            return Err(invalid!(
                "shape {} with strides {} of {dtype_name}: the byte stride of axis {axis} does not fit in 64 bits",
                fmt_dims(&self.shape),
                fmt_dims(&self.strides)
            ));
        }
        Ok(())
    }

    /// NumPy's C_CONTIGUOUS: compact row-major, ignoring the strides of
    /// size-1 dimensions; every size-0 layout qualifies.
    pub fn is_c_contiguous(&self) -> bool {
        self.is_compact_in((0..self.ndim()).rev())
    }

    /// NumPy's F_CONTIGUOUS, with the same exceptions as C.
    pub fn is_f_contiguous(&self) -> bool {
        self.is_compact_in(0..self.ndim())
    }

    fn is_compact_in(&self, axes: impl Iterator<Item = usize>) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut expected = 1i64;
        for axis in axes {
            let n = self.shape[axis];
            if n == 1 {
                continue;
            }
            if self.strides[axis] != expected {
                return false;
            }
            expected *= n;
        }
        true
    }

    /// NumPy's ALIGNED for elements of `itemsize` bytes starting at address
    /// `addr`: the start and every byte stride (of the axes that move) are
    /// multiples of `alignment` (a power of two); every size-0 layout
    /// qualifies.
    pub fn is_aligned(&self, addr: usize, itemsize: usize, alignment: usize) -> bool {
        if self.is_empty() {
            return true;
        }
        // A power of two: a mask replaces a division per axis.
        let mask = alignment.max(1) as i64 - 1;
        let item = itemsize as i64;
        (addr as i64) & mask == 0
            && self
                .shape
                .iter()
                .zip(&self.strides)
                .all(|(&n, &s)| n == 1 || s.wrapping_mul(item) & mask == 0)
    }

    /// True when elements are packed with no gaps and no overlap, in any
    /// axis order (a permuted or flipped compact buffer).
    pub fn is_dense(&self) -> bool {
        let mut dims: Vec<(i64, i64)> = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|&(&n, _)| n != 1)
            .map(|(&n, &s)| (s.unsigned_abs() as i64, n))
            .collect();
        if dims.iter().any(|&(_, n)| n == 0) {
            return true;
        }
        dims.sort_unstable();
        let mut expected = 1i64;
        for (stride, n) in dims {
            if stride != expected {
                return false;
            }
            expected *= n;
        }
        true
    }

    /// Whether two different indices may address the same element.
    ///
    /// Exact when the strides, sorted by magnitude, each step over everything
    /// the smaller ones reach (ndarray's test); otherwise exact by enumeration
    /// up to [`EXACT_CHECK_LIMIT`] elements, and conservatively `true` beyond.
    pub fn may_overlap(&self) -> bool {
        !self.is_c_contiguous() && !self.is_f_contiguous() && self.may_overlap_strided()
    }

    /// [`Layout::may_overlap`] for a layout already known to be neither C
    /// nor F contiguous (contiguous layouts never overlap).
    pub fn may_overlap_strided(&self) -> bool {
        if self.shape.contains(&0) {
            return false;
        }
        let mut dims: SmallVec<[(u64, i64); 8]> = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|&(&n, _)| n > 1)
            .map(|(&n, &s)| (s.unsigned_abs(), n))
            .collect();
        dims.sort_unstable();
        let mut reach: u128 = 0;
        let mut separated = true;
        for &(stride, n) in &dims {
            if u128::from(stride) <= reach {
                separated = false;
                break;
            }
            reach += u128::from(stride) * (n as u128 - 1);
        }
        if separated {
            return false;
        }
        if self.size() > EXACT_CHECK_LIMIT {
            return true;
        }
        // Enumerate over the moving axes only, with |stride|: reversing an
        // axis translates the set of offsets, which keeps its duplicates, and
        // size-1 axes add nothing. Walking the full layout instead costs a
        // pass over every axis per element: up to 64 x 2^20 steps for a
        // hostile DLPack descriptor, on every import and view of it.
        // Up to 8 MiB: when it cannot be had (a process under `ulimit -v`),
        // answer conservatively ("may overlap": the view is read-only)
        // instead of aborting on allocation failure (RULES §8).
        let mut offsets: Vec<u64> = Vec::new();
        if offsets.try_reserve_exact(self.size() as usize).is_err() {
            return true;
        }
        offsets.push(0);
        for &(stride, n) in &dims {
            let len = offsets.len();
            for i in 1..n as u64 {
                // Within the validated extent: cannot overflow.
                let step = i * stride;
                offsets.extend_from_within(..len);
                offsets[len * i as usize..]
                    .iter_mut()
                    .for_each(|o| *o += step);
            }
        }
        offsets.sort_unstable();
        offsets.windows(2).any(|w| w[0] == w[1])
    }

    /// Every element offset, in C (row-major) index order.
    pub fn offsets(&self) -> Offsets<'_> {
        Offsets::new(self)
    }

    /// The element offset of a multi-index; negative indices count from the
    /// end. Out of range is `DLV_ERR_INDEX` naming the axis.
    pub fn offset_of(&self, index: &[i64]) -> Result<i64> {
        if index.len() != self.ndim() {
            return Err(invalid!(
                "index has {} entries but the tensor has {} dimensions",
                index.len(),
                self.ndim()
            ));
        }
        // Check every axis before multiplying: a size-0 layout has no
        // validated extent, so an in-range index on one axis times its stride
        // may overflow while another axis (of size 0) rejects the index.
        for (axis, (&i, &n)) in index.iter().zip(&self.shape).enumerate() {
            resolve_index(i, axis, n)?;
        }
        let mut offset = 0i64;
        for (axis, ((&i, &n), &s)) in index.iter().zip(&self.shape).zip(&self.strides).enumerate() {
            // In range on every axis, so the layout has elements and its
            // validated extent bounds every partial sum.
            offset += resolve_index(i, axis, n)? * s;
        }
        Ok(offset)
    }

    // ---- views -----------------------------------------------------------

    /// `t[start:stop:step]` along `axis`, with Python's clamping; `None`
    /// bounds are omitted ones.
    pub fn slice(
        &self,
        axis: usize,
        start: Option<i64>,
        stop: Option<i64>,
        step: i64,
    ) -> Result<(Layout, i64)> {
        let (first, count) = slice_indices(self.shape[axis], start, stop, step)?;
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        shape[axis] = count;
        strides[axis] = self.strides[axis]
            .checked_mul(step)
            .ok_or_else(|| overflow("stride * step"))?;
        // An empty slice may start one past the end; pointing there would be
        // pointless, so the view stays at the source's first element. So does
        // any slice of an empty layout, whose strides were never checked
        // against an extent (the product could overflow).
        let offset = if count == 0 || self.is_empty() {
            0
        } else {
            first * self.strides[axis]
        };
        Ok((Layout::from_parts(shape, strides)?, offset))
    }

    /// `t[..., index, ...]`: drops `axis`.
    pub fn select(&self, axis: usize, index: i64) -> Result<(Layout, i64)> {
        let i = resolve_index(index, axis, self.shape[axis])?;
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        shape.remove(axis);
        strides.remove(axis);
        // An empty layout's strides were never checked against an extent.
        let offset = if self.is_empty() {
            0
        } else {
            i * self.strides[axis]
        };
        Ok((Layout::derived(shape, strides), offset))
    }

    /// Reorders axes: axis `k` of the result is axis `axes[k]` of the source.
    pub fn permute(&self, axes: &[i64]) -> Result<Layout> {
        if axes.len() != self.ndim() {
            return Err(invalid!(
                "axes has {} entries but the tensor has {} dimensions",
                axes.len(),
                self.ndim()
            ));
        }
        let mut seen = [false; MAX_NDIM];
        let mut shape = Dims::new();
        let mut strides = Dims::new();
        for &a in axes {
            let axis = normalize_axis(a, self.ndim())?;
            if std::mem::replace(&mut seen[axis], true) {
                return Err(invalid!(
                    "repeated axis {a} in permutation {}",
                    fmt_dims(axes)
                ));
            }
            shape.push(self.shape[axis]);
            strides.push(self.strides[axis]);
        }
        Ok(Layout::derived(shape, strides))
    }

    /// All axes reversed (NumPy's `.T`).
    pub fn reversed_axes(&self) -> Layout {
        Layout::derived(
            self.shape.iter().rev().copied().collect(),
            self.strides.iter().rev().copied().collect(),
        )
    }

    /// Reverses the order of elements along `axis`.
    pub fn flip(&self, axis: usize) -> Result<(Layout, i64)> {
        let n = self.shape[axis];
        let mut strides = self.strides.clone();
        strides[axis] = self.strides[axis]
            .checked_neg()
            .ok_or_else(|| overflow("negated stride"))?;
        let offset = if self.is_empty() {
            0
        } else {
            (n - 1) * self.strides[axis]
        };
        Ok((Layout::derived(self.shape.clone(), strides), offset))
    }

    /// Removes `axis` (which must have size 1), or every size-1 axis.
    pub fn squeeze(&self, axis: Option<usize>) -> Result<Layout> {
        if let Some(axis) = axis
            && self.shape[axis] != 1
        {
            return Err(invalid!(
                "cannot squeeze axis {axis}: its size is {}, not 1",
                self.shape[axis]
            ));
        }
        let keep = |i: usize| match axis {
            Some(a) => i != a,
            None => self.shape[i] != 1,
        };
        let idx = (0..self.ndim()).filter(|&i| keep(i));
        Ok(Layout::derived(
            idx.clone().map(|i| self.shape[i]).collect(),
            idx.map(|i| self.strides[i]).collect(),
        ))
    }

    /// Inserts a size-1 axis at `axis` (in `0..=ndim`).
    pub fn expand_dims(&self, axis: usize) -> Result<Layout> {
        check_ndim(self.ndim() + 1)?;
        // The stride of a size-1 axis never matters for addressing; pick the
        // one a compact layout would have so contiguity flags stay natural.
        let stride = match axis {
            a if a < self.ndim() => self.shape[a]
                .max(1)
                .checked_mul(self.strides[a])
                .unwrap_or(1),
            _ => 1,
        };
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        shape.insert(axis, 1);
        strides.insert(axis, stride);
        Ok(Layout::derived(shape, strides))
    }

    /// NumPy broadcasting to `target`: new leading axes and size-1 axes get
    /// stride 0.
    pub fn broadcast_to(&self, target: &[i64]) -> Result<Layout> {
        shape_size(target)?;
        let incompatible = || {
            invalid!(
                "cannot broadcast shape {} to shape {}",
                fmt_dims(&self.shape),
                fmt_dims(target)
            )
        };
        if target.len() < self.ndim() {
            return Err(incompatible());
        }
        let lead = target.len() - self.ndim();
        let mut strides: Dims = SmallVec::from_elem(0, target.len());
        for (i, &n) in self.shape.iter().enumerate() {
            strides[lead + i] = match (n, target[lead + i]) {
                (n, t) if n == t => self.strides[i],
                (1, _) => 0,
                _ => return Err(incompatible()),
            };
        }
        Layout::from_parts(Dims::from_slice(target), strides)
    }

    /// A view of the same elements under `shape` (one entry may be -1), or
    /// `None` when the layout does not allow it without copying. Follows
    /// NumPy's `_attempt_nocopy_reshape`, reading in C order.
    pub fn reshape(&self, shape: &[i64]) -> Result<Option<Layout>> {
        let shape = resolve_reshape(self.size(), &self.shape, shape)?;
        if self.size() == 0 {
            return Layout::compact(&shape, Order::C).map(Some);
        }
        let (old_dims, old_strides): (Dims, Dims) = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|&(&n, _)| n != 1)
            .map(|(&n, &s)| (n, s))
            .unzip();
        let (new_nd, old_nd) = (shape.len(), old_dims.len());
        let mut new_strides: Dims = SmallVec::from_elem(0, new_nd);
        let (mut oi, mut oj, mut ni, mut nj) = (0, 1, 0, 1);
        while ni < new_nd && oi < old_nd {
            let mut np = shape[ni];
            let mut op = old_dims[oi];
            while np != op {
                if np < op {
                    np *= shape[nj];
                    nj += 1;
                } else {
                    op *= old_dims[oj];
                    oj += 1;
                }
            }
            for ok in oi..oj - 1 {
                if Some(old_strides[ok]) != old_dims[ok + 1].checked_mul(old_strides[ok + 1]) {
                    return Ok(None);
                }
            }
            new_strides[nj - 1] = old_strides[oj - 1];
            for nk in (ni + 1..nj).rev() {
                match new_strides[nk].checked_mul(shape[nk]) {
                    Some(s) => new_strides[nk - 1] = s,
                    None => return Ok(None),
                }
            }
            ni = nj;
            nj += 1;
            oi = oj;
            oj += 1;
        }
        let last = if ni >= 1 { new_strides[ni - 1] } else { 1 };
        for s in &mut new_strides[ni..] {
            *s = last;
        }
        Layout::from_parts(shape, new_strides).map(Some)
    }

    /// NumPy's `sliding_window_view` along one axis: that axis becomes the
    /// number of windows and a new last axis of length `window` walks each.
    pub fn sliding_window(&self, axis: usize, window: i64) -> Result<Layout> {
        check_ndim(self.ndim() + 1)?;
        let n = self.shape[axis];
        if window < 0 || window > n {
            return Err(invalid!(
                "window {window} does not fit axis {axis} of size {n}"
            ));
        }
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        shape[axis] = n - window + 1;
        shape.push(window);
        strides.push(self.strides[axis]);
        Layout::from_parts(shape, strides)
    }
}

/// Resolves an index that may count from the end, or fails with the exact
/// NumPy message naming axis, index and size.
pub fn resolve_index(index: i64, axis: usize, size: i64) -> Result<i64> {
    let i = if index < 0 {
        index.checked_add(size)
    } else {
        Some(index)
    };
    match i {
        Some(i) if (0..size).contains(&i) => Ok(i),
        _ => Err(Error::Index { index, axis, size }),
    }
}

/// Python's `slice.indices` plus the element count: returns the first index
/// and how many elements the slice selects.
pub fn slice_indices(
    len: i64,
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
) -> Result<(i64, i64)> {
    if step == 0 {
        return Err(invalid!("slice step cannot be zero"));
    }
    // i128 keeps `index + len` and `-step` exact for every i64 input.
    let (len, step128) = (i128::from(len), i128::from(step));
    let (lower, upper) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let clamp = |bound: Option<i64>, default: i128| match bound {
        None => default,
        Some(b) if b < 0 => (i128::from(b) + len).max(lower),
        Some(b) => i128::from(b).min(upper),
    };
    let first = clamp(start, if step > 0 { lower } else { upper });
    let last = clamp(stop, if step > 0 { upper } else { lower });
    let count = if step > 0 && first < last {
        (last - first - 1) / step128 + 1
    } else if step < 0 && last < first {
        (first - last - 1) / (-step128) + 1
    } else {
        0
    };
    Ok((first as i64, count as i64))
}

/// Fills in one `-1` entry of a requested shape and checks the element count.
pub fn resolve_reshape(size: i64, old_shape: &[i64], shape: &[i64]) -> Result<Dims> {
    check_ndim(shape.len())?;
    let mut out = Dims::from_slice(shape);
    let mut unknown = None;
    let mut known: i64 = 1;
    for (i, &d) in shape.iter().enumerate() {
        match d {
            -1 if unknown.is_none() => unknown = Some(i),
            -1 => {
                return Err(invalid!(
                    "can only specify one unknown dimension in shape {}",
                    fmt_dims(shape)
                ));
            }
            d if d < 0 => {
                return Err(invalid!(
                    "negative dimension {d} in shape {}",
                    fmt_dims(shape)
                ));
            }
            d => {
                known = known
                    .checked_mul(d)
                    .ok_or_else(|| invalid!("shape {} has too many elements", fmt_dims(shape)))?
            }
        }
    }
    let mismatch = || {
        invalid!(
            "cannot reshape tensor of size {size} (shape {}) into shape {}",
            fmt_dims(old_shape),
            fmt_dims(shape)
        )
    };
    if let Some(i) = unknown {
        if known == 0 || size % known != 0 {
            return Err(mismatch());
        }
        out[i] = size / known;
    } else if known != size {
        return Err(mismatch());
    }
    Ok(out)
}

/// Iterator over the element offsets of a layout in C index order, with an
/// odometer so each step costs O(1) amortised.
pub struct Offsets<'a> {
    layout: &'a Layout,
    index: Dims,
    offset: i64,
    remaining: i64,
}

impl<'a> Offsets<'a> {
    fn new(layout: &'a Layout) -> Self {
        Offsets {
            layout,
            index: SmallVec::from_elem(0, layout.ndim()),
            offset: 0,
            remaining: layout.size(),
        }
    }
}

impl Iterator for Offsets<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.offset;
        if self.remaining > 0 {
            for axis in (0..self.index.len()).rev() {
                let (n, s) = (self.layout.shape[axis], self.layout.strides[axis]);
                self.index[axis] += 1;
                if self.index[axis] < n {
                    self.offset += s;
                    break;
                }
                // Never step past the last index: `s * n` or one step beyond
                // may not fit in i64 even though every element offset does.
                self.offset -= s * (n - 1);
                self.index[axis] = 0;
            }
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lay(shape: &[i64], strides: &[i64]) -> Layout {
        Layout::new(shape, strides).unwrap()
    }

    #[test]
    fn compact_strides_by_hand() {
        assert_eq!(
            compact_strides(&[2, 3, 4], Order::C).unwrap().as_slice(),
            &[12, 4, 1]
        );
        assert_eq!(
            compact_strides(&[2, 3, 4], Order::F).unwrap().as_slice(),
            &[1, 2, 6]
        );
        assert_eq!(
            compact_strides(&[2, 0, 4], Order::C).unwrap().as_slice(),
            &[4, 4, 1]
        );
        assert_eq!(
            compact_strides(&[], Order::C).unwrap().as_slice(),
            &[] as &[i64]
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(
            shape_size(&[2, -1])
                .unwrap_err()
                .to_string()
                .contains("negative dimension -1 at axis 1")
        );
        assert!(shape_size(&[1 << 40, 1 << 40]).is_err());
        assert!(
            shape_size(&[0, 1 << 40, 1 << 40]).is_err(),
            "size 0 must not hide an overflowing shape"
        );
        assert!(
            shape_size(&[1; 65])
                .unwrap_err()
                .to_string()
                .contains("ndim 65 exceeds")
        );
        assert!(Layout::new(&[3], &[i64::MAX]).is_err());
        assert!(Layout::new(&[2, 2], &[1]).is_err());
        let huge = lay(&[2], &[1 << 62]);
        assert!(huge.byte_bounds(8).is_err());
    }

    #[test]
    fn views_of_empty_layouts_never_multiply_unchecked_strides() {
        // Size 0: the stride 4 on an axis of 2^62 was never checked.
        let l = lay(&[1 << 62, 0], &[4, 1]);
        let (v, off) = l.select(0, (1 << 62) - 1).unwrap();
        assert_eq!((v.shape(), off), (&[0][..], 0));
        let (v, off) = l.slice(0, Some((1 << 62) - 1), None, 1).unwrap();
        assert_eq!((v.shape(), off), (&[1, 0][..], 0));
        let (v, off) = l.flip(0).unwrap();
        assert_eq!((v.strides(), off), (&[-4, 1][..], 0));
    }

    #[test]
    fn overlap_by_enumeration_matches_brute_force() {
        // Layouts that are not separated, so the enumeration decides.
        let cases: &[(&[i64], &[i64])] = &[
            (&[3, 2], &[1, 1]),
            (&[3, 2], &[2, -1]),
            (&[2, 3], &[-2, 3]),
            (&[4, 3, 1], &[2, 3, 9]),
            (&[2, 2, 2], &[3, 2, -1]),
            (&[3, 1, 3], &[-2, 100, 2]),
            (&[5, 4], &[3, 4]),
            (&[2, 2, 2], &[1, 1, 3 << 61]),
        ];
        for &(shape, strides) in cases {
            let l = lay(shape, strides);
            let mut all: Vec<i64> = l.offsets().collect();
            all.sort_unstable();
            let brute = all.windows(2).any(|w| w[0] == w[1]);
            assert_eq!(l.may_overlap_strided(), brute, "{shape:?} {strides:?}");
        }
    }

    #[test]
    fn separation_test_uses_the_full_reach_of_each_axis() {
        // Axis 0 reaches offsets 0, 3, 6, 9; axis 1 steps by 9, so element
        // (3, 0) and element (0, 1) are both offset 9. The quick separation
        // test must see that axis 0 reaches 3 * (4 - 1) = 9, not 3 + 3 = 6,
        // or it calls the layout separated and never enumerates.
        let l = lay(&[4, 2], &[3, 9]);
        assert!(l.may_overlap_strided());
        assert!(l.may_overlap());
        // Just out of reach: axis 1 steps by 10.
        assert!(!lay(&[4, 2], &[3, 10]).may_overlap_strided());
    }

    #[test]
    fn offset_of_checks_every_axis_before_multiplying() {
        // Size 0, so the huge stride was never validated against an extent.
        let l = lay(&[i64::MAX - 1, 0], &[(1 << 60) - 1, 1]);
        let err = l.offset_of(&[(1 << 60) - 1, 0]).unwrap_err();
        assert_eq!(
            err,
            Error::Index {
                index: 0,
                axis: 1,
                size: 0
            }
        );
    }

    #[test]
    fn offsets_of_strides_near_the_limit() {
        // Stepping one index past the end would overflow i64 here.
        assert_eq!(
            lay(&[2], &[1 << 62]).offsets().collect::<Vec<_>>(),
            [0, 1 << 62]
        );
        assert_eq!(
            lay(&[2, 2], &[-(1 << 62), 1]).offsets().collect::<Vec<_>>(),
            [0, 1, -(1 << 62), 1 - (1 << 62)]
        );
        assert!(lay(&[2, 2, 2], &[1, 1, 3 << 61]).may_overlap());
    }

    #[test]
    fn alignment_follows_numpy() {
        let l = lay(&[2, 3], &[3, 1]);
        assert!(l.is_aligned(0x1000, 4, 4));
        assert!(!l.is_aligned(0x1002, 4, 4), "misaligned start");
        assert!(
            !l.is_aligned(0x1000, 2, 4),
            "a 2-byte stride of 4-aligned elements"
        );
        assert!(
            lay(&[1, 4], &[7, 2]).is_aligned(0x1000, 2, 4),
            "size-1 axes never step"
        );
        assert!(
            lay(&[0, 4], &[1, 1]).is_aligned(0x1001, 8, 8),
            "no elements"
        );
        assert!(
            lay(&[3], &[-2]).is_aligned(0x1008, 4, 8),
            "negative strides"
        );
    }

    #[test]
    fn contiguity_flags_follow_numpy() {
        assert!(lay(&[2, 3], &[3, 1]).is_c_contiguous());
        assert!(!lay(&[2, 3], &[3, 1]).is_f_contiguous());
        assert!(lay(&[2, 3], &[1, 2]).is_f_contiguous());
        // Size-1 dims ignore their stride; size 0 is both.
        assert!(lay(&[1, 3], &[99, 1]).is_c_contiguous());
        assert!(lay(&[1, 3], &[99, 1]).is_f_contiguous());
        assert!(!lay(&[2, 3], &[3, 1]).is_f_contiguous());
        assert!(lay(&[3, 1], &[1, 7]).is_c_contiguous() && lay(&[3, 1], &[1, 7]).is_f_contiguous());
        assert!(
            lay(&[0, 3], &[5, -2]).is_c_contiguous() && lay(&[0, 3], &[5, -2]).is_f_contiguous()
        );
        assert!(lay(&[], &[]).is_c_contiguous() && lay(&[], &[]).is_f_contiguous());
        assert!(!lay(&[3], &[-1]).is_c_contiguous());
        assert!(lay(&[3], &[-1]).is_dense());
    }

    #[test]
    fn slices_match_python() {
        // range(10)[start:stop:step] computed by hand.
        // (start, stop, step, first index, length)
        type Case = (Option<i64>, Option<i64>, i64, i64, i64);
        let cases: &[Case] = &[
            (None, None, 1, 0, 10),
            (None, None, -1, 9, 10),
            (Some(2), Some(8), 3, 2, 2),
            (Some(-3), None, 1, 7, 3),
            (Some(-100), Some(100), 1, 0, 10),
            (Some(8), Some(2), -2, 8, 3),
            (Some(5), Some(5), 1, 5, 0),
            (None, Some(-100), -1, 9, 10),
            (Some(100), None, -3, 9, 4),
            (Some(i64::MIN + 1), Some(i64::MAX), i64::MAX, 0, 1),
            (None, None, i64::MIN, 9, 1),
        ];
        for &(start, stop, step, first, count) in cases {
            assert_eq!(
                slice_indices(10, start, stop, step).unwrap(),
                (first, count),
                "{start:?}:{stop:?}:{step}"
            );
        }
        assert_eq!(
            slice_indices(10, None, None, 0).unwrap_err().to_string(),
            "slice step cannot be zero"
        );
        assert_eq!(slice_indices(0, None, None, -1).unwrap(), (-1, 0));
    }

    #[test]
    fn slice_and_select_layouts() {
        let l = lay(&[4, 5], &[5, 1]);
        let (v, off) = l.slice(1, None, None, -2).unwrap();
        assert_eq!(
            (v.shape(), v.strides(), off),
            (&[4, 3][..], &[5, -2][..], 4)
        );
        let (v, off) = l.select(0, -1).unwrap();
        assert_eq!((v.shape(), v.strides(), off), (&[5][..], &[1][..], 15));
        let err = l.select(1, 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "index 5 is out of bounds for axis 1 with size 5"
        );
        assert!(matches!(
            l.select(0, -5).unwrap_err(),
            Error::Index {
                index: -5,
                axis: 0,
                size: 4
            }
        ));
    }

    #[test]
    fn permute_flip_squeeze_expand() {
        let l = lay(&[2, 3, 4], &[12, 4, 1]);
        let p = l.permute(&[2, 0, -2]).unwrap();
        assert_eq!((p.shape(), p.strides()), (&[4, 2, 3][..], &[1, 12, 4][..]));
        assert!(
            l.permute(&[0, 0, 1])
                .unwrap_err()
                .to_string()
                .contains("repeated axis 0")
        );
        assert!(l.permute(&[0, 1]).is_err());
        assert!(
            l.permute(&[0, 1, 3])
                .unwrap_err()
                .to_string()
                .contains("axis 3 is out of bounds for tensor of dimension 3")
        );
        let (f, off) = l.flip(1).unwrap();
        assert_eq!((f.strides(), off), (&[12, -4, 1][..], 8));
        let s = lay(&[1, 3, 1], &[3, 1, 1]);
        assert_eq!(s.squeeze(None).unwrap().shape(), &[3]);
        assert_eq!(s.squeeze(Some(2)).unwrap().shape(), &[1, 3]);
        assert!(
            s.squeeze(Some(1))
                .unwrap_err()
                .to_string()
                .contains("size is 3")
        );
        let e = lay(&[2, 3], &[3, 1]).expand_dims(1).unwrap();
        assert_eq!((e.shape(), e.strides()), (&[2, 1, 3][..], &[3, 3, 1][..]));
        assert!(e.is_c_contiguous());
    }

    #[test]
    fn broadcasting() {
        let l = lay(&[3, 1], &[1, 1]);
        let b = l.broadcast_to(&[2, 3, 4]).unwrap();
        assert_eq!((b.shape(), b.strides()), (&[2, 3, 4][..], &[0, 1, 0][..]));
        assert!(b.may_overlap());
        let err = l.broadcast_to(&[4, 4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot broadcast shape (3, 1) to shape (4, 4)"
        );
        assert!(l.broadcast_to(&[3]).is_err());
    }

    #[test]
    fn reshape_views_and_refusals() {
        let c = lay(&[2, 3, 4], &[12, 4, 1]);
        let r = c.reshape(&[6, -1]).unwrap().unwrap();
        assert_eq!((r.shape(), r.strides()), (&[6, 4][..], &[4, 1][..]));
        // A transposed layout cannot be flattened without a copy ...
        assert_eq!(c.reversed_axes().reshape(&[24]).unwrap(), None);
        // ... but splitting one of its axes can.
        let t = c.reversed_axes().reshape(&[2, 2, 3, 2]).unwrap().unwrap();
        assert_eq!(t.strides(), &[2, 1, 4, 12]);
        // Every other column of a 4x6 is one regular stride-2 run: a view.
        let (s, _) = lay(&[4, 6], &[6, 1]).slice(1, None, None, 2).unwrap();
        assert_eq!(s.reshape(&[12]).unwrap().unwrap().strides(), &[2]);
        // The first three columns are not: rows are 6 apart, not 3.
        let (s, _) = lay(&[4, 6], &[6, 1]).slice(1, None, Some(3), 1).unwrap();
        assert_eq!(s.reshape(&[12]).unwrap(), None);
        assert_eq!(
            s.reshape(&[2, 2, 3]).unwrap().unwrap().strides(),
            &[12, 6, 1]
        );
        assert!(
            c.reshape(&[5, 5])
                .unwrap_err()
                .to_string()
                .contains("cannot reshape tensor of size 24")
        );
        assert!(c.reshape(&[-1, -1]).is_err());
        assert_eq!(
            lay(&[0, 3], &[3, 1])
                .reshape(&[3, 0, 5])
                .unwrap()
                .unwrap()
                .shape(),
            &[3, 0, 5]
        );
        assert_eq!(
            lay(&[], &[]).reshape(&[1, 1]).unwrap().unwrap().shape(),
            &[1, 1]
        );
    }

    #[test]
    fn overlap_detection() {
        assert!(!lay(&[3, 4], &[4, 1]).may_overlap());
        assert!(!lay(&[3, 4], &[1, -3]).may_overlap());
        assert!(lay(&[3, 4], &[1, 1]).may_overlap());
        // Not separable by the stride test but disjoint: {0,2,4} + {0,3}.
        assert!(!lay(&[3, 2], &[2, 3]).may_overlap());
        assert!(lay(&[3, 2], &[2, 4]).may_overlap());
        assert!(!lay(&[1, 5], &[0, 1]).may_overlap());
        let w = lay(&[5], &[1]).sliding_window(0, 3).unwrap();
        assert_eq!((w.shape(), w.strides()), (&[3, 3][..], &[1, 1][..]));
        assert!(w.may_overlap());
        assert!(lay(&[5], &[1]).sliding_window(0, 6).is_err());
    }

    #[test]
    fn offsets_iterate_in_c_order() {
        let l = lay(&[2, 3], &[1, -2]);
        assert_eq!(l.offsets().collect::<Vec<_>>(), vec![0, -2, -4, 1, -1, -3]);
        assert_eq!(lay(&[], &[]).offsets().collect::<Vec<_>>(), vec![0]);
        assert_eq!(lay(&[2, 0], &[1, 1]).offsets().count(), 0);
        assert_eq!(l.element_bounds().unwrap(), Some((-4, 1)));
        assert_eq!(l.byte_bounds(4).unwrap(), Some((-16, 8)));
        assert_eq!(l.offset_of(&[1, -1]).unwrap(), -3);
    }
}
