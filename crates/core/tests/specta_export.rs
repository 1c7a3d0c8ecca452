//! With `--features specta`: every type the desktop UI receives from the core exports to
//! TypeScript as the shell exports it (numbers for 64-bit integers), including `Record`
//! (exported as `RecordData`: TypeScript has a `Record` of its own), whose fields are a
//! flattened map.
#![cfg(feature = "specta")]

use specta::TypeCollection;
use specta_typescript::{BigIntExportBehavior, Typescript};

#[test]
fn the_ui_types_export_to_typescript() {
    let mut types = TypeCollection::default();
    types
        .register::<desk_core::EntitySchema>()
        .register::<desk_core::schema::Country>()
        .register::<desk_core::RecordView>()
        .register::<desk_core::Record>()
        .register::<desk_core::SearchHit>()
        .register::<desk_core::Summary>()
        .register::<desk_core::Conflict>()
        .register::<desk_core::UndoReport>()
        .register::<desk_core::precedence::Delegation>()
        .register::<desk_core::ErrorKind>()
        .register::<desk_core::PageQuery>()
        .register::<desk_core::Page>()
        .register::<desk_core::Home>()
        .register::<desk_core::FollowupQuery>()
        .register::<desk_core::FollowupRow>()
        .register::<desk_core::IndicatorSeries>();
    let ts = Typescript::default()
        .bigint(BigIntExportBehavior::Number)
        .export(&types)
        .expect("exports");
    for name in [
        "EntitySchema",
        "KindSchema",
        "RecordView",
        "RecordData",
        "HitParent",
        "DueState",
        "FilterKind",
        "ActionDue",
        "AttentionReason",
        "ProjectAttention",
        "DueFilter",
        "FollowupRow",
        "MeetingRef",
        "DecisionRef",
        "IndicatorPoint",
    ] {
        assert!(
            ts.contains(&format!("export type {name} ")),
            "{name}:\n{ts}"
        );
    }
    // A record's fields are its own keys beside id and entity.
    let record = ts
        .lines()
        .find(|l| l.starts_with("export type RecordData "))
        .expect("RecordData");
    assert!(
        record.contains("[key in string]") || record.contains("Partial<{ [key in string]"),
        "{record}"
    );
}
