//! Iteration plans: in which order a copy visits its elements, which axes
//! merge into one, and whether the innermost two axes are walked in tiles.
//!
//! Pure integer logic over lengths and *byte* strides (no pointers, no
//! types): the kernels in `kernels.rs` execute a plan, nothing here touches
//! memory. A plan describes `dst[i] = f(src[i])` for every multi-index `i`
//! of a shape both operands share (the source may be broadcast: zero strides).

use smallvec::SmallVec;

/// One axis of an iteration: its length and the byte stride of each operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub len: usize,
    pub dst: isize,
    pub src: isize,
}

/// The odometer: calls `f` with the byte offsets `(dst, src)` of every
/// position of `axes` in C order (the last axis fastest). It only adds and
/// subtracts strides, never multiplies an index. Every strided walk in the
/// library (the copy kernels' outer axes, `take`, gathers, mask offsets,
/// `cuMemcpy2D` rows) goes through it. Two walks differ in kind and stay
/// apart: `Layout::offsets` is a pull-style iterator (callers stop early),
/// and `index.rs`'s `add_broadcast` starts mid-way and steps by runs.
pub(crate) fn walk_offsets(axes: &[Axis], mut f: impl FnMut(isize, isize)) {
    let Some((&last, rest)) = axes.split_last() else {
        f(0, 0);
        return;
    };
    if axes.iter().any(|a| a.len == 0) {
        return;
    }
    let mut index: SmallVec<[usize; 8]> = SmallVec::from_elem(0, rest.len());
    let (mut d, mut s) = (0isize, 0isize);
    loop {
        let (mut di, mut si) = (d, s);
        for _ in 0..last.len {
            f(di, si);
            di = di.wrapping_add(last.dst);
            si = si.wrapping_add(last.src);
        }
        let mut axis = rest.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            let a = rest[axis];
            index[axis] += 1;
            d = d.wrapping_add(a.dst);
            s = s.wrapping_add(a.src);
            if index[axis] < a.len {
                break;
            }
            index[axis] = 0;
            d = d.wrapping_sub((a.len as isize).wrapping_mul(a.dst));
            s = s.wrapping_sub((a.len as isize).wrapping_mul(a.src));
        }
    }
}

/// How the innermost axes are walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    /// There are no elements: nothing to do.
    Empty,
    /// The last axis is one run with fixed strides (no axes at all: a single
    /// element).
    Run,
    /// The last two axes `[.., y, x]` are copied in cache-sized tiles: `x`
    /// has the smallest destination stride, `y` the smallest source stride,
    /// so each tile reads whole source lines and writes whole destination
    /// lines (a transpose).
    Tiled,
}

/// An executable description of a strided copy. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Byte offsets to add to the operands' element-0 addresses (non-zero
    /// when axes were flipped to make destination strides positive).
    pub dst_start: isize,
    pub src_start: isize,
    /// Axes from outermost to innermost, merged where possible.
    pub axes: SmallVec<[Axis; 8]>,
    pub inner: Inner,
}

/// A source stride at most this many bytes keeps several consecutive
/// elements in one 64-byte cache line: such an axis is worth tiling against.
const NEAR_STRIDE: usize = 32;
/// An inner source stride beyond this touches a new cache line per element.
const FAR_STRIDE: usize = 64;

impl Plan {
    /// Plans `dst[i] = src[i]` over `shape`, with strides in elements and the
    /// operands' item sizes in bytes. The layouts must be valid (their byte
    /// extents fit `isize`), which makes every product below representable.
    pub fn new(
        shape: &[i64],
        dst_strides: &[i64],
        dst_item: usize,
        src_strides: &[i64],
        src_item: usize,
    ) -> Plan {
        let mut plan = Plan {
            dst_start: 0,
            src_start: 0,
            axes: SmallVec::new(),
            inner: Inner::Run,
        };
        if shape.contains(&0) {
            plan.inner = Inner::Empty;
            return plan;
        }
        for ((&n, &ds), &ss) in shape.iter().zip(dst_strides).zip(src_strides) {
            if n == 1 {
                continue;
            }
            let mut axis = Axis {
                len: n as usize,
                dst: ds as isize * dst_item as isize,
                src: ss as isize * src_item as isize,
            };
            // Walk the destination forward: flipping an axis in both operands
            // visits the same pairs of elements in the opposite order.
            if axis.dst < 0 || (axis.dst == 0 && axis.src < 0) {
                let last = axis.len as isize - 1;
                plan.dst_start += last * axis.dst;
                plan.src_start += last * axis.src;
                axis.dst = -axis.dst;
                axis.src = -axis.src;
            }
            plan.axes.push(axis);
        }
        // Destination memory order, outermost first: writes stream forward.
        // Stable, so ties keep the source's C order of axes.
        plan.axes.sort_by(|a, b| {
            b.dst
                .cmp(&a.dst)
                .then(b.src.unsigned_abs().cmp(&a.src.unsigned_abs()))
        });
        plan.coalesce();
        plan.choose_tiling();
        plan
    }

    /// Merges each pair of neighbouring axes that step through both
    /// operands as one longer axis would.
    fn coalesce(&mut self) {
        let mut merged: SmallVec<[Axis; 8]> = SmallVec::new();
        for &axis in self.axes.iter().rev() {
            // `axis` is outside the innermost axis merged so far.
            if let Some(inner) = merged.last_mut()
                && inner.dst.checked_mul(inner.len as isize) == Some(axis.dst)
                && inner.src.checked_mul(inner.len as isize) == Some(axis.src)
            {
                // The merged axis steps like the inner one, for longer.
                inner.len *= axis.len;
                continue;
            }
            merged.push(axis);
        }
        merged.reverse();
        self.axes = merged;
    }

    /// Tiles when the innermost axis reads the source far apart but another
    /// axis reads it densely (a transpose, in any number of dimensions).
    fn choose_tiling(&mut self) {
        let n = self.axes.len();
        if n < 2 {
            return;
        }
        let x = self.axes[n - 1];
        if x.src.unsigned_abs() <= FAR_STRIDE {
            return;
        }
        let (y_pos, y) = self.axes[..n - 1]
            .iter()
            .enumerate()
            .min_by_key(|(i, a)| (a.src.unsigned_abs(), std::cmp::Reverse(*i)))
            .map(|(i, &a)| (i, a))
            .expect("at least two axes");
        if y.src.unsigned_abs() > NEAR_STRIDE || y.src == 0 {
            return;
        }
        self.axes.remove(y_pos);
        self.axes.insert(n - 2, y);
        self.inner = Inner::Tiled;
    }

    /// The element count (product of the axis lengths).
    pub fn len(&self) -> usize {
        match self.inner {
            Inner::Empty => 0,
            _ => self.axes.iter().map(|a| a.len).product(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the whole copy is one forward run of packed elements in
    /// both operands (or a single element): a `memcpy`/`memmove`.
    pub fn is_one_packed_run(&self, dst_item: usize, src_item: usize) -> bool {
        match (self.inner, self.axes.as_slice()) {
            (Inner::Run, []) => true,
            (Inner::Run, [a]) => a.dst == dst_item as isize && a.src == src_item as isize,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(p: &Plan) -> Vec<(usize, isize, isize)> {
        p.axes.iter().map(|a| (a.len, a.dst, a.src)).collect()
    }

    #[test]
    fn contiguous_merges_to_one_run() {
        let p = Plan::new(&[2, 3, 4], &[12, 4, 1], 4, &[12, 4, 1], 4);
        assert_eq!((axes(&p), p.inner), (vec![(24, 4, 4)], Inner::Run));
        assert!(p.is_one_packed_run(4, 4));
        // Casting: different item sizes still merge.
        let p = Plan::new(&[2, 3], &[3, 1], 2, &[3, 1], 8);
        assert_eq!(axes(&p), vec![(6, 2, 8)]);
        // Fortran source into a Fortran destination.
        let p = Plan::new(&[2, 3], &[1, 2], 4, &[1, 2], 4);
        assert_eq!(axes(&p), vec![(6, 4, 4)]);
    }

    #[test]
    fn size_one_and_size_zero_axes() {
        let p = Plan::new(&[1, 5, 1], &[5, 1, 1], 4, &[99, 1, -7], 4);
        assert_eq!(axes(&p), vec![(5, 4, 4)]);
        let p = Plan::new(&[3, 0], &[1, 1], 4, &[1, 1], 4);
        assert_eq!((p.inner, p.len()), (Inner::Empty, 0));
        let p = Plan::new(&[], &[], 8, &[], 8);
        assert_eq!((axes(&p), p.inner, p.len()), (vec![], Inner::Run, 1));
    }

    #[test]
    fn negative_destination_strides_flip_both_operands() {
        // Both reversed: one forward memcpy starting at the last element.
        let p = Plan::new(&[5], &[-1], 4, &[-1], 4);
        assert_eq!(
            (axes(&p), p.dst_start, p.src_start),
            (vec![(5, 4, 4)], -16, -16)
        );
        // Only the source reversed: a run with a negative source stride.
        let p = Plan::new(&[4, 5], &[5, 1], 4, &[5, -1], 4);
        assert_eq!(
            (axes(&p), p.inner),
            (vec![(4, 20, 20), (5, 4, -4)], Inner::Run)
        );
        // a[::-1, ::-1] of a C array merges into one reversed run.
        let p = Plan::new(&[4, 5], &[5, 1], 4, &[-5, -1], 4);
        assert_eq!(axes(&p), vec![(20, 4, -4)]);
    }

    #[test]
    fn transposes_are_tiled() {
        let p = Plan::new(&[64, 32], &[32, 1], 4, &[1, 64], 4);
        assert_eq!(
            (axes(&p), p.inner),
            (vec![(64, 128, 4), (32, 4, 256)], Inner::Tiled)
        );
        // A C array of shape (4, 5, 6) with its axes reversed: the source's
        // unit axis moves next to the innermost one, the third stays outside.
        let p = Plan::new(&[6, 5, 4], &[20, 4, 1], 4, &[1, 6, 30], 4);
        assert_eq!(p.inner, Inner::Tiled);
        assert_eq!(axes(&p), vec![(5, 16, 24), (6, 80, 4), (4, 4, 120)]);
        // Permutation (2, 0, 1) keeps two source axes adjacent: they merge.
        let p = Plan::new(&[40, 2, 30], &[60, 30, 1], 4, &[1, 1200, 40], 4);
        assert_eq!(
            (axes(&p), p.inner),
            (vec![(40, 240, 4), (60, 4, 160)], Inner::Tiled)
        );
        // Small source strides everywhere: a plain strided run is enough.
        let p = Plan::new(&[8, 8], &[8, 1], 4, &[1, 8], 4);
        assert_eq!(p.inner, Inner::Run);
        // Broadcast sources are never tiled against their zero stride.
        let p = Plan::new(&[100, 100], &[100, 1], 4, &[0, 400], 4);
        assert_eq!(p.inner, Inner::Run);
    }
}
