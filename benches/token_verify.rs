//! What token authentication costs per request, in process: the full check of a token seen
//! for the first time (RS256 signature and claims), and `verify` of a token seen before (the
//! cache, the revocation sets, the last-use note) — what every later request pays.
//!
//! Run with `cargo bench --bench token_verify`.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use flowmcp::auth::keys::KeyPair;
use flowmcp::auth::{Tokens, Verification};
use flowmcp::domain::ChannelId;
use flowmcp::store::MemoryStore;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = KeyPair::load_or_create(dir.path()).expect("keys");
    let tokens =
        Tokens::open(Verification::Signed, keys, Arc::new(MemoryStore::new())).expect("tokens");
    let channel = ChannelId::parse("bench").expect("channel");
    let access = tokens.pair(&channel, Some("u")).expect("pair").access.token;
    let (mcp, _) = tokens
        .mint_mcp(&channel, Some("u"), Some("bench"), 30)
        .expect("mint");
    let mcp = mcp.token;

    let mut group = c.benchmark_group("token");
    group.bench_function("check (first request: RS256 + claims)", |b| {
        b.iter(|| tokens.check(std::hint::black_box(&access)).expect("valid"));
    });
    group.bench_function("verify (seen before, access token)", |b| {
        b.iter(|| tokens.verify(std::hint::black_box(&access)).expect("valid"));
    });
    group.bench_function("verify (seen before, recorded MCP token)", |b| {
        b.iter(|| tokens.verify(std::hint::black_box(&mcp)).expect("valid"));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
