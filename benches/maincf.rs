//! Library benchmarks: parse, render, effective view, set and plan on
//! generated main.cf files of 1,000, 10,000 and 100,000 lines.
//!
//! `cargo bench --bench maincf` (add `-- --quick` for a short run). The
//! generated file is the one `scripts/bench` uses (`generate` below and
//! `gen_main_cf` there must stay the same): blocks of ten lines with a
//! comment, a commented example, two single-line parameters, a
//! three-line folded list, a blank line, a repeated `mynetworks` and a
//! relay parameter; 70% of the lines carry data.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use postform::catalog::Catalog;
use postform::engine::spec::Spec;
use postform::postfix::maincf::{MainCf, NewValue};
use std::path::Path;

/// `lines` lines of main.cf (a multiple of 10).
pub fn generate(lines: usize) -> Vec<u8> {
    let mut out = String::with_capacity(lines * 36);
    for i in 0..lines / 10 {
        out.push_str(&format!(
            "# Block {i}: a comment in prose, as main.cf.dist has.\n\
             #example_{i} = commented example\n\
             param_{i}_a = value_{i}\n\
             param_{i}_b = $myhostname, localhost.$mydomain\n\
             list_{i} = alpha_{i},\n    beta_{i},\n    gamma_{i}\n\
             \n\
             mynetworks = 127.0.0.0/8 [::1]/128\n\
             relay_{i} = [relay{i}.example]:587\n"
        ));
    }
    out.into_bytes()
}

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn bench(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let spec = Spec::from_yaml_str("inet_protocols: ipv4\n", "bench.yaml").expect("spec");
    for (name, sample) in [
        ("parse", 0),
        ("render", 1),
        ("effective", 2),
        ("set", 3),
        ("plan", 4),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        for lines in SIZES {
            let bytes = generate(lines);
            let doc = MainCf::parse(&bytes).expect("generated main.cf parses");
            group.throughput(Throughput::Elements(lines as u64));
            let id = BenchmarkId::from_parameter(lines);
            match sample {
                0 => group.bench_with_input(id, &bytes, |b, bytes| {
                    b.iter(|| MainCf::parse(black_box(bytes)).expect("parse"))
                }),
                1 => {
                    group.bench_with_input(id, &doc, |b, doc| b.iter(|| black_box(doc).to_bytes()))
                }
                2 => group.bench_with_input(id, &doc, |b, doc| {
                    b.iter(|| black_box(doc).effective().postconf_n(|_| true))
                }),
                3 => group.bench_with_input(id, &doc, |b, doc| {
                    b.iter_batched(
                        || doc.clone(),
                        |mut d| {
                            d.set("inet_protocols", &NewValue::Scalar("ipv4".into()))
                                .expect("set");
                            d
                        },
                        criterion::BatchSize::LargeInput,
                    )
                }),
                _ => group.bench_with_input(id, &bytes, |b, bytes| {
                    b.iter(|| {
                        // Parse (as reading the config dir does) and plan.
                        let live = postform::engine::live::LiveConfig::from_bytes(
                            Path::new("."),
                            Path::new("main.cf").to_path_buf(),
                            Some(black_box(bytes).clone()),
                            None,
                        );
                        postform::engine::plan::plan(&spec, &live, catalog).expect("plan")
                    })
                }),
            };
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
