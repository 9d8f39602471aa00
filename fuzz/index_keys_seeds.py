#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz target index_keys into fuzz/seeds/index_keys/
(python3 fuzz/index_keys_seeds.py fuzz/seeds/index_keys). Each helper emits the
bytes fuzz/harness/index_keys.rs reads for one choice (make_target, make_key,
the index_put value), so a seed names the case it covers."""
# Seed encoder for fuzz/harness/index_keys.rs (byte layout of make_target,
# make_key and the index_put value choice).
import os, sys
out = sys.argv[1]
DT = {'i16':0,'i32':1,'i64':2,'f32':3,'f64':4}
IDT = {'i8':0,'i16':1,'i32':2,'i64':3,'u8':4,'u64':5}
I64_MIN_PLUS_1 = ('edge', 3)   # input.rs EDGES[3] = -(2**63 - 1)
def si(x):            # small_index: -4..4 directly, -7..7 through signed()
    if isinstance(x, tuple): return [0, 220 + x[1]]
    if -4 <= x <= 4: return [1, x+4]
    assert -7 <= x <= 7; return [0, x+7]
def target(dt, shape, layout='C', extra=(), ro=False):
    b = [DT[dt], len(shape)] + list(shape)
    b += [{'C':0,'neg':1,'any':2,'F':3}[layout]] + list(extra)
    b += [0 if ro else 1]
    return b
NONE = None
def bound(x): return [0] if x is None else [1] + si(x)
def Int(x): return [0] + si(x)
def Slice(a=None, b=None, c=None):
    return [1] + bound(a) + bound(b) + ([0] if c is None else [1] + si(c))
NewAxis = [3]; Ell = [4]
def Ints(dt, shape, vals):   # vals: (byte, neg) pairs: value = byte % dim - (dim if neg)
    b = [5, IDT[dt], len(shape)] + list(shape)
    for v in vals:
        if isinstance(v, tuple) and v[0] == 'raw':   # small_index escape
            b += [0] + si(v[1])
        else:
            byte, neg = v; b += [1, byte, 1 if neg else 0]
    return b
def Flag(f): return [7, 0, 1 if f else 0]
Float = [7, 1]
def Mask(dims, bits):        # dims: list of ('match') or ('any', n)
    b = [7, 2, len(dims)-1]
    for d in dims:
        b += [1] if d == 'match' else [0, d[1]]
    return b + [1 if x else 0 for x in bits]
def key(*items): return [len(items)] + sum(items, [])
def scalar(dt, x=5): return [DT[dt], 0, x]
def bvalue(dt, take, ones=(), grow=False):
    ones = list(ones) + [False] * (take - len(ones))
    b = [DT[dt], 1, take] + [0 if o else 1 for o in ones]
    return b + ([0] if grow else [1])
def selfv(dt='i16'): return [DT[dt], 2]
seeds = {
 '01_basic_slices': target('f32',[3,3]) + key(Int(1), Slice(None,None,-1)) + scalar('i32'),
 '02_negative_step_view': target('i64',[2,3],'neg',[1,1]) + key(Slice(2,-5,-2), NewAxis, Ell) + bvalue('f64',1),
 '03_step_zero': target('i32',[3]) + key(Slice(None,None,0)) + scalar('f32'),
 '04_int_out_of_range': target('f64',[2,3]) + key(Ell, Int(-4)) + scalar('i16'),
 '05_two_ellipses': target('i16',[2,2]) + key(Ell, NewAxis, Ell) + scalar('i64'),
 '06_int_tensor_repeats': target('i32',[3,2]) + key(Ints('i64',[2,2],[(2,0),(2,0),(0,1),(1,0)])) + bvalue('i32',2),
 '07_int_tensor_oob': target('f32',[3]) + key(Ints('u8',[2],[(0,0),('raw',4)])) + scalar('f64'),
 '08_separated_advanced': target('f64',[2,3,2]) + key(Ints('i8',[2],[(0,0),(1,1)]), Slice(), Int(1)) + scalar('i32'),
 '09_adjacent_advanced': target('i64',[2,3,2]) + key(Slice(), Ints('i16',[1,2],[(2,0),(0,0)]), Ints('i32',[2],[(1,0),(0,1)])) + bvalue('i64',2),
 '10_mask_right_shape': target('f32',[2,3]) + key(Mask(['match','match'],[1,0,1,0,1,1])) + bvalue('f32',1),
 '11_mask_wrong_shape': target('i32',[2,3]) + key(Slice(), Mask([('any',2)],[1,0])) + scalar('i16'),
 '12_bool_scalars': target('f64',[2]) + key(Flag(True), Ell, Flag(False)) + scalar('f64'),
 '13_read_only_put': target('i16',[3,2], ro=True) + key(Slice(1,None,None), Int(0)) + scalar('i32'),
 '14_broadcast_view_put_self': target('f64',[3,2],'any',[4,5]) + key(Ints('u64',[3],[(0,0),(1,0),(2,0)])) + selfv(),
 '15_value_does_not_broadcast': target('i32',[2,3]) + key(Slice(None,None,2), Slice()) + bvalue('i32',2,grow=True),
 '16_float_index_tensor': target('f32',[2]) + key(Float) + scalar('f32'),
 '17_zero_d_tensor_and_newaxis': target('i64',[3,2],'F',[1]) + key(Ints('i32',[],[(1,1)]), NewAxis, Ints('i64',[2],[(1,0),(0,0)])) + bvalue('f64',1,ones=[True]),
 '18_put_self_int_tensor': target('f32',[3]) + key(Ints('i32',[3],[(2,0),(0,0),(1,0)])) + selfv(),
 '19_zero_size_oob_tensor': target('f64',[0,2]) + key(Ints('i64',[0],[]), Ints('i8',[1],[('raw',3)])) + scalar('i64'),
 '20_too_many_indices': target('i16',[2]) + key(Int(0), NewAxis, Int(0)) + scalar('i16'),
 # Regression: a length-1 axis of stride -(2**63 - 1) elements before an
 # index tensor overflowed the gather's byte strides (debug: PANIC status).
 'regress-huge-step-before-index-tensor': target('f32',[2,2,1],'F',[0]) + key(Slice(None,None,I64_MIN_PLUS_1), Ints('i32',[],[(0,0)])) + scalar('f32'),
 # A length-1 source axis of stride i64::MIN indexed by an integer tensor.
 'regress-huge-stride-index-tensor-axis': target('f32',[1,3],'any',[4,0,221,5]) + key(Ints('i64',[2],[(0,0),(0,1)])) + bvalue('f32',1),
 'regress-huge-step-then-mask': target('i16',[2,3],'F',[0]) + key(Slice(None,None,I64_MIN_PLUS_1), Mask(['match'],[1,0,1])) + bvalue('i16',1),
}
for name, b in seeds.items():
    assert all(0 <= x < 256 for x in b), name
    open(os.path.join(out, name), 'wb').write(bytes(b))
print(len(seeds))
