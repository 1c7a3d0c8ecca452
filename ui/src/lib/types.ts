// The types the UI works with, all generated from Rust (../bindings.ts).
export type {
  CommandError,
  Delegation,
  EntitySchema,
  FieldSchema,
  Home,
  JsonValue,
  KindSchema,
  Page,
  PageQuery,
  RecordView,
  SearchHit,
  SyncEvent,
  SyncStatus,
} from "../bindings";
