//! A micro-benchmark of view creation (flags are computed for every view
//! and every import): `cargo test --release -p dlview --test view_speed --
//! --ignored --nocapture`. Ignored in normal runs: it only prints timings.

use dlview::{DType, Order, Tensor};
use std::time::Instant;

#[test]
#[ignore]
fn views_per_second() {
    let t = Tensor::zeros(DType::F32, &[8, 16, 32, 64], Order::C).unwrap();
    let n = 1_000_000;
    type Make = fn(&Tensor) -> dlview::Result<Tensor>;
    let cases: [(&str, Make); 3] = [
        ("slice", |t| t.slice(2, Some(1), None, 2)),
        ("transpose", |t| t.transpose()),
        ("select", |t| t.select(0, 3)),
    ];
    for (name, make) in cases {
        let start = Instant::now();
        let mut flags = 0u32;
        for _ in 0..n {
            flags ^= make(&t).unwrap().flags();
        }
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        println!("{name:9}: {ns:6.1} ns per view (flags {flags})");
    }
}
