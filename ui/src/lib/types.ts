// The types the UI works with, all generated from Rust (../bindings.ts).
export type {
  CommandError,
  Delegation,
  EntitySchema,
  FieldSchema,
  Home,
  JsonValue,
  KindSchema,
  RowPage,
  PageQuery,
  RecordView,
  Row,
  SearchHit,
  SyncEvent,
  SyncStatus,
} from "../bindings";
