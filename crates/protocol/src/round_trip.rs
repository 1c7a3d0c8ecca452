//! Every wire type survives JSON, and the batch types the binary codec, unchanged.

use crate::hlc::Hlc;
use crate::v1::*;
use crate::wire;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::json;
use std::fmt::Debug;

fn json_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: &T) -> String {
    let text = serde_json::to_string(v).expect("to JSON");
    let back: T = serde_json::from_str(&text).expect("from JSON");
    assert_eq!(&back, v, "{text}");
    text
}

fn change(i: i64) -> Change {
    Change {
        seq: i,
        device: "01a233b4-c525-7369-9564-f1fdef3213a0".into(),
        dev_seq: i,
        tx: 7,
        entity: "meeting".into(),
        record: "01a233b4-c52f-7695-bc69-47a546f1e7d9".into(),
        hlc: Hlc::new(1_790_000_000_000, 2),
        schema_version: 4,
        fields: vec![
            FieldChange {
                field: "title".into(),
                value: json!("Senior Officials' Meeting"),
                base: Hlc::ZERO,
                set: None,
            },
            FieldChange {
                field: "participants".into(),
                value: json!(["a", "b"]),
                base: Hlc::new(1_789_000_000_000, 0),
                set: Some(SetOps {
                    add: vec!["b".into()],
                    del: vec![Dot {
                        elem: "c".into(),
                        dev: "d2".into(),
                        seq: 3,
                    }],
                }),
            },
        ],
    }
}

fn record() -> RecordRef {
    RecordRef {
        entity: "contact".into(),
        id: "01a233b4-c52f-7695-bc69-47a546f10001".into(),
    }
}

#[test]
fn every_wire_type_round_trips_through_json() {
    let c = change(1);
    json_trip(&c);
    json_trip(&c.fields[1]);
    json_trip(&c.fields[1].set.clone().expect("set"));
    json_trip(&c.fields[1].set.clone().expect("set").del[0]);
    json_trip(&record());
    let push = json_trip(&PushRequest {
        device: c.device.clone(),
        changes: vec![c.clone()],
    });
    assert!(push.contains(r#""changes":[{"seq":1,"device":"#), "{push}");
    let acked = json_trip(&PushAnswer {
        acked: 9,
        quarantined: 1,
        restamped: 2,
    });
    assert_eq!(acked, r#"{"acked":9,"quarantined":1,"restamped":2}"#);
    // Older servers answered without the counts.
    let old: PushAnswer = serde_json::from_str(r#"{"acked":3}"#).expect("old answer");
    assert_eq!(
        old,
        PushAnswer {
            acked: 3,
            ..PushAnswer::default()
        }
    );
    let page = PullPage {
        changes: vec![c.clone()],
        purged: vec![record()],
        cursor: 12,
        more: true,
        snapshot: 0,
    };
    let text = json_trip(&page);
    assert!(!text.contains("snapshot"), "{text}");
    assert!(text.ends_with(r#""cursor":12,"more":true}"#), "{text}");
    let login = json_trip(&LoginRequest {
        user: "ana".into(),
        password: "pw".into(),
        device: "dev".into(),
    });
    assert_eq!(login, r#"{"user":"ana","password":"pw","device":"dev"}"#);
    json_trip(&LoginAnswer {
        token: "t".into(),
        role: "focal-point:TH".into(),
        expires: 1_790_000_000,
    });
    json_trip(&Checksum {
        head: 4,
        records: 2,
        digest: "ab".repeat(32),
    });
    let err = json_trip(&ErrorBody {
        error: ErrorDetail {
            code: Denied::Revoked.code().into(),
            message: Denied::Revoked.message().into(),
        },
    });
    assert_eq!(
        err,
        r#"{"error":{"code":"revoked","message":"this device's access was revoked"}}"#
    );
}

#[test]
fn changes_and_pages_round_trip_through_the_binary_codec() {
    let changes: Vec<Change> = (1..=3).map(change).collect();
    let body =
        wire::encode_push("ignored when changes name their device", &changes).expect("encode");
    let (device, back) = wire::decode_push(&body).expect("decode");
    assert_eq!(
        (device.as_str(), &back),
        (changes[0].device.as_str(), &changes)
    );
    let page = PullPage {
        changes,
        purged: vec![record()],
        cursor: 3,
        more: false,
        snapshot: 0,
    };
    let back = wire::decode_page(&wire::encode_page(&page).expect("encode")).expect("decode");
    assert_eq!(back, page);
}
