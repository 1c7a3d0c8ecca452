#![allow(dead_code)]
use desk_core::{Fields, Key, Replica};
use serde_json::{json, Value};

pub fn key() -> Key {
    Key::Raw([7u8; 32])
}

pub fn fresh() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = Replica::init(&dir.path().join("replica.db"), &key()).expect("init");
    (dir, r)
}

pub fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

pub fn obj(v: Value) -> Fields {
    fields(v)
}

pub fn j(v: Value) -> Value {
    json!(v)
}
