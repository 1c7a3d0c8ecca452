#![allow(dead_code)]
//! What the exchange tests share: a fresh encrypted replica, fields from JSON.

use desk_core::{Fields, Key, Replica};
use serde_json::Value;

pub fn fresh() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = Replica::init(&dir.path().join("replica.db"), &Key::Raw([7u8; 32])).expect("init");
    (dir, r)
}

pub fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}
