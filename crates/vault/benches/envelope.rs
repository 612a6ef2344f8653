//! Cost of the vault's cryptography per operation: `cargo bench -p vault`.
//! A gateway pays one `unwrap_data_key` + one `open` per connector when it (re)loads a
//! merchant's config; a rotation pays one `rewrap_data_key` per merchant.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use secrecy::SecretString;
use std::hint::black_box;
use uuid::Uuid;
use vault::{CredentialAad, Keyset};

fn bench(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let keys = Keyset::generate(&mut rng).with_new_version(&mut rng);
    let (m, conn) = (Uuid::new_v4(), Uuid::new_v4());
    let (dk, wrapped) = vault::new_data_key(&keys, m, 1, &mut rng).unwrap();
    let aad = CredentialAad {
        merchant_id: m,
        connector_id: conn,
        field: "api_key",
    };
    let secret = SecretString::from("sk_test_51Hbenchmark0000000000000000000000");
    let sealed = vault::seal(&dk, aad, &secret, &mut rng).unwrap();
    c.bench_function("seal (api key)", |b| {
        b.iter(|| vault::seal(&dk, aad, black_box(&secret), &mut rng).unwrap())
    });
    c.bench_function("open (api key)", |b| {
        b.iter(|| vault::open(&dk, aad, black_box(&sealed)).unwrap())
    });
    c.bench_function("unwrap_data_key", |b| {
        b.iter(|| vault::unwrap_data_key(&keys, m, 1, black_box(&wrapped)).unwrap())
    });
    c.bench_function("rewrap_data_key (rotation, per merchant)", |b| {
        b.iter(|| vault::rewrap_data_key(&keys, m, 1, black_box(&wrapped), 2, &mut rng).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
