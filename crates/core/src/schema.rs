//! The domain as data: one descriptor per entity, naming its fields, their kinds and rules.
//!
//! Validation, the generic write path, the change log, replay and the `desk` command line are all
//! driven by these descriptors, so a field added here is validated, logged, synced and exposed
//! everywhere at once. The SQL schema itself lives in versioned migrations (`migrations.rs`); a
//! test checks that every descriptor field has its column.

use serde::Serialize;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Organisation,
    Contact,
    Project,
    Milestone,
    Indicator,
    Update,
    Meeting,
    AgendaItem,
    Participant,
    Decision,
    Action,
    TalkingPoint,
    Document,
    /// One dated value of an indicator (its history of actual values). Last, so the order of
    /// the entities before it (in `describe`, dumps) is what it was before version 7.
    IndicatorValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind {
    /// One line of text, at most this many characters.
    Text(usize),
    /// Free text (notes, minutes, decision text): kept whole; conflicts keep both values.
    LongText,
    Email,
    /// An ISO 3166 alpha-2 code; names and aliases ("Lao PDR", "Viet Nam", "Burma") resolve to it.
    Country,
    CountryList,
    /// YYYY-MM-DD.
    Date,
    /// An IANA time zone name such as Asia/Bangkok.
    TimeZone,
    /// A time of day, HH:MM on the 24-hour clock (local to the record's time zone).
    Time,
    /// ISO 4217 code, three letters.
    Currency,
    Int {
        min: i64,
        max: i64,
    },
    Real {
        min: f64,
    },
    Enum(&'static [&'static str]),
    /// The id of a live record of that entity.
    Ref(Entity),
    RefList(Entity),
    /// A list of short strings (tags, languages, agencies).
    List,
    /// 64 lowercase hex digits.
    Sha256,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

#[derive(Debug)]
pub struct EntityDesc {
    pub entity: Entity,
    /// Name used in the change log, JSON and errors.
    pub name: &'static str,
    /// The `desk` subcommand.
    pub cli: &'static str,
    pub table: &'static str,
    /// Parent field and entity: children live and die with their parent and inherit its scope.
    pub parent: Option<(&'static str, Entity)>,
    /// Field shown as the record's title in lists and search hits.
    pub title: &'static str,
    pub subtitle: Option<&'static str>,
    /// Fields that feed full-text search (empty: not searched). For contacts, organisations,
    /// projects and meetings the first two also answer one- and two-letter queries (the start
    /// of the field or of a word in it).
    pub search: &'static [&'static str],
    /// SQL ORDER BY for lists. Its first key names the default sort field of pages (see
    /// [`crate::describe`]); numbered records order through the functions of [`crate::order`]
    /// (`desk_position_order(position, number)`, `desk_natural(number)`).
    pub order_by: &'static str,
    /// Fields that must be unique among live records.
    pub unique: &'static [&'static str],
    /// (start, end) date fields where end must not be before start.
    pub date_range: Option<(&'static str, &'static str)>,
    pub fields: &'static [Field],
    /// Whether the record carries its own classification and scope (children inherit).
    pub classified: bool,
    /// Code used to place search rows in disjoint rowid ranges.
    pub search_code: i64,
}

const fn f(name: &'static str, kind: FieldKind, help: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        default: None,
        help,
    }
}
const fn req(name: &'static str, kind: FieldKind, help: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        default: None,
        help,
    }
}
const fn def(
    name: &'static str,
    kind: FieldKind,
    default: &'static str,
    help: &'static str,
) -> Field {
    Field {
        name,
        kind,
        required: false,
        default: Some(default),
        help,
    }
}

use FieldKind::*;

pub const CLASSIFICATIONS: &[&str] = &["public", "internal", "restricted"];
const CLASSIFICATION: Field = def(
    "classification",
    Enum(CLASSIFICATIONS),
    "internal",
    "public | internal | restricted",
);
const SCOPE: Field = f(
    "scope",
    CountryList,
    "countries that may see the record (comma-separated codes)",
);
const NAME: FieldKind = Text(300);

pub const ORG_KINDS: &[&str] = &[
    "ministry",
    "agency",
    "development_partner",
    "secretariat",
    "institute",
    "international_organisation",
    "private_sector",
    "other",
];
pub const PILLARS: &[&str] = &[
    "seamless_connectivity",
    "synchronized_economies",
    "smart_and_sustainable",
];
pub const PROJECT_STATUSES: &[&str] = &[
    "proposed",
    "approved",
    "ongoing",
    "completed",
    "suspended",
    "cancelled",
];
pub const MILESTONE_STATUSES: &[&str] = &["planned", "on_track", "delayed", "done", "dropped"];
pub const RAG: &[&str] = &["green", "amber", "red"];
pub const MEETING_KINDS: &[&str] = &[
    "summit",
    "ministers",
    "senior_officials",
    "coordinating_committee",
    "working_group",
    "partner_framework",
    "workshop",
    "other",
];
pub const GENDERS: &[&str] = &["female", "male", "unspecified"];
pub const PRECEDENCE_RULES: &[&str] = &[
    "alphabetical",
    "host_first",
    "chair_first",
    "host_then_chair",
];
pub const MEETING_STATUSES: &[&str] = &["planned", "confirmed", "held", "postponed", "cancelled"];
pub const PARTICIPANT_ROLES: &[&str] = &[
    "head_of_delegation",
    "alternate",
    "delegate",
    "adviser",
    "observer",
    "development_partner",
    "secretariat",
    "rapporteur",
    "interpreter",
];
pub const ATTENDANCE: &[&str] = &["invited", "confirmed", "attended", "absent", "regrets"];
pub const ACTION_STATUSES: &[&str] = &["not_started", "ongoing", "completed", "overtaken"];
pub const POINT_KINDS: &[&str] = &["talking_point", "background"];
pub const DOCUMENT_KINDS: &[&str] = &[
    "agenda",
    "concept_note",
    "report",
    "annex",
    "statement",
    "information_paper",
    "other",
];
pub const DOCUMENT_STATUSES: &[&str] = &["draft", "circulated", "adopted", "superseded"];

static ORGANISATION: EntityDesc = EntityDesc {
    entity: Entity::Organisation,
    name: "organisation",
    cli: "org",
    table: "organisation",
    parent: None,
    title: "name",
    subtitle: Some("acronym"),
    search: &["name", "acronym", "native_name"],
    order_by: "name COLLATE NOCASE",
    unique: &[],
    date_range: None,
    classified: true,
    search_code: 1,
    fields: &[
        req("name", NAME, "full name in English"),
        f("acronym", Text(40), "acronym, e.g. MOFA"),
        f("native_name", NAME, "name in the national script"),
        def("kind", Enum(ORG_KINDS), "other", "ministry | agency | development_partner | secretariat | institute | international_organisation | private_sector | other"),
        f("country", Country, "country code or name, e.g. TH or Thailand"),
        f("parent", Ref(Entity::Organisation), "parent organisation (id or acronym)"),
        f("website", Text(300), "web site"),
        f("notes", LongText, "notes"),
        CLASSIFICATION,
        SCOPE,
    ],
};

static CONTACT: EntityDesc = EntityDesc {
    entity: Entity::Contact,
    name: "contact",
    cli: "contact",
    table: "contact",
    parent: None,
    title: "name",
    subtitle: Some("title"),
    search: &["name", "native_name", "email"],
    order_by: "name COLLATE NOCASE",
    unique: &[],
    date_range: None,
    classified: true,
    search_code: 2,
    fields: &[
        req("name", NAME, "full name in Latin script"),
        f(
            "native_name",
            NAME,
            "name in the native script, e.g. สมชาย ใจดี",
        ),
        f("honorific", Text(60), "H.E., Dr, Samdech, U, Daw …"),
        f("given_name", NAME, "given name (Latin script)"),
        f("family_name", NAME, "family name (Latin script)"),
        f("title", Text(300), "position, e.g. Director-General"),
        f(
            "org",
            Ref(Entity::Organisation),
            "organisation (id or acronym)",
        ),
        f("country", Country, "country code or name"),
        f("email", Email, "e-mail address"),
        f("phone", Text(60), "telephone"),
        f("languages", List, "languages spoken (comma-separated)"),
        f(
            "precedence",
            Int {
                min: 0,
                max: 1_000_000,
            },
            "protocol precedence rank (lower comes first)",
        ),
        f(
            "gender",
            Enum(GENDERS),
            "female | male | unspecified (picks forms of address)",
        ),
        f(
            "tags",
            List,
            "tags such as focal_point, som_leader (comma-separated)",
        ),
        f("notes", LongText, "notes"),
        CLASSIFICATION,
        SCOPE,
    ],
};

static PROJECT: EntityDesc = EntityDesc {
    entity: Entity::Project,
    name: "project",
    cli: "project",
    table: "project",
    parent: None,
    title: "title",
    subtitle: Some("code"),
    search: &["code", "title", "sector"],
    order_by: "code COLLATE NOCASE",
    unique: &["code"],
    date_range: Some(("start_date", "end_date")),
    classified: true,
    search_code: 3,
    fields: &[
        req("code", Text(40), "project code, e.g. SC-07"),
        req("title", Text(500), "project title"),
        f(
            "pillar",
            Enum(PILLARS),
            "seamless_connectivity | synchronized_economies | smart_and_sustainable",
        ),
        f("sector", Text(120), "sector, e.g. transport"),
        def(
            "status",
            Enum(PROJECT_STATUSES),
            "proposed",
            "proposed | approved | ongoing | completed | suspended | cancelled",
        ),
        f("lead_country", Country, "lead country"),
        f(
            "countries",
            CountryList,
            "participating countries (comma-separated)",
        ),
        f("agencies", List, "implementing agencies (comma-separated)"),
        f("partners", List, "development partners (comma-separated)"),
        f("budget", Real { min: 0.0 }, "total budget"),
        def(
            "currency",
            Currency,
            "USD",
            "ISO 4217 currency of budget and funding",
        ),
        f(
            "funding_secured",
            Real { min: 0.0 },
            "funding secured so far",
        ),
        f("start_date", Date, "start date, YYYY-MM-DD"),
        f("end_date", Date, "end date, YYYY-MM-DD"),
        f("summary", LongText, "summary"),
        CLASSIFICATION,
        SCOPE,
    ],
};

static MILESTONE: EntityDesc = EntityDesc {
    entity: Entity::Milestone,
    name: "milestone",
    cli: "milestone",
    table: "milestone",
    parent: Some(("project", Entity::Project)),
    title: "title",
    subtitle: Some("due_date"),
    search: &[],
    order_by: "due_date, title",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 0,
    fields: &[
        req("project", Ref(Entity::Project), "project (id or code)"),
        req("title", Text(500), "milestone"),
        f("due_date", Date, "due date"),
        f("completed_date", Date, "date achieved"),
        def(
            "status",
            Enum(MILESTONE_STATUSES),
            "planned",
            "planned | on_track | delayed | done | dropped",
        ),
    ],
};

static INDICATOR: EntityDesc = EntityDesc {
    entity: Entity::Indicator,
    name: "indicator",
    cli: "indicator",
    table: "indicator",
    parent: Some(("project", Entity::Project)),
    title: "name",
    subtitle: Some("unit"),
    search: &[],
    order_by: "position, name",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 0,
    fields: &[
        req("project", Ref(Entity::Project), "project (id or code)"),
        req("name", Text(500), "indicator"),
        f("unit", Text(60), "unit of measure"),
        f("baseline", Real { min: f64::MIN }, "baseline value"),
        f("target", Real { min: f64::MIN }, "target value"),
        f(
            "actual",
            Real { min: f64::MIN },
            "actual value as first recorded (later values: indicator-value add)",
        ),
        f("as_of", Date, "date of that actual value"),
        f(
            "position",
            Int {
                min: 0,
                max: 1_000_000,
            },
            "order in tables",
        ),
    ],
};

static INDICATOR_VALUE: EntityDesc = EntityDesc {
    entity: Entity::IndicatorValue,
    name: "indicator_value",
    cli: "indicator-value",
    table: "indicator_value",
    parent: Some(("indicator", Entity::Indicator)),
    title: "date",
    subtitle: Some("value"),
    search: &[],
    order_by: "date, _updated, id",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 0,
    fields: &[
        req("indicator", Ref(Entity::Indicator), "indicator (id)"),
        req("date", Date, "date the value was measured, YYYY-MM-DD"),
        req("value", Real { min: f64::MIN }, "the value"),
        f("note", Text(1000), "source or remark"),
    ],
};

static UPDATE: EntityDesc = EntityDesc {
    entity: Entity::Update,
    name: "update",
    cli: "update",
    table: "project_update",
    parent: Some(("project", Entity::Project)),
    title: "period_end",
    subtitle: Some("rag"),
    search: &[],
    order_by: "period_end DESC",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 0,
    fields: &[
        req("project", Ref(Entity::Project), "project (id or code)"),
        req("period_end", Date, "end of the reporting period"),
        req("rag", Enum(RAG), "green | amber | red"),
        f("narrative", LongText, "progress narrative"),
        f("risks", LongText, "risks and mitigation"),
    ],
};

static MEETING: EntityDesc = EntityDesc {
    entity: Entity::Meeting,
    name: "meeting",
    cli: "meeting",
    table: "meeting",
    parent: None,
    title: "title",
    subtitle: Some("start_date"),
    search: &["title", "short_title", "venue", "city", "framework"],
    order_by: "start_date DESC, title",
    unique: &[],
    date_range: Some(("start_date", "end_date")),
    classified: true,
    search_code: 4,
    fields: &[
        req("title", Text(2000), "full title"),
        f("short_title", Text(120), "short title for headers, e.g. 12th ACMECS SOM"),
        def("kind", Enum(MEETING_KINDS), "other", "summit | ministers | senior_officials | coordinating_committee | working_group | partner_framework | workshop | other"),
        def("framework", Text(120), "ACMECS", "cooperation framework, e.g. ACMECS, Mekong-US Partnership"),
        req("start_date", Date, "first day, YYYY-MM-DD"),
        f("end_date", Date, "last day, YYYY-MM-DD"),
        f("start_time", Time, "opening time on the first day, HH:MM at the venue"),
        f("end_time", Time, "closing time on the last day, HH:MM at the venue"),
        def("timezone", TimeZone, "Asia/Bangkok", "IANA time zone of the venue"),
        f("venue", Text(300), "venue"),
        f("city", Text(120), "city"),
        f("host_country", Country, "host country"),
        f("chair", Ref(Entity::Contact), "chair (contact id)"),
        def("status", Enum(MEETING_STATUSES), "planned", "planned | confirmed | held | postponed | cancelled"),
        f("notes", LongText, "notes"),
        def(
            "precedence",
            Enum(PRECEDENCE_RULES),
            "alphabetical",
            "order of delegations: alphabetical | host_first | chair_first | host_then_chair",
        ),
        CLASSIFICATION,
        SCOPE,
    ],
};

/// The fields of an agenda item's brief, in the order the pack prints them.
pub const BRIEF_FIELDS: [&str; 6] = [
    "objectives",
    "points_to_make",
    "their_objectives",
    "our_response",
    "press_line",
    "background",
];

static AGENDA_ITEM: EntityDesc = EntityDesc {
    entity: Entity::AgendaItem,
    name: "agenda_item",
    cli: "agenda",
    table: "agenda_item",
    parent: Some(("meeting", Entity::Meeting)),
    title: "title",
    subtitle: Some("number"),
    search: &["title", "number", "purpose"],
    order_by: "desk_rank_order(position, number, rank, id), id",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 5,
    fields: &[
        req("meeting", Ref(Entity::Meeting), "meeting id"),
        f("number", Text(20), "item number, e.g. 3.1"),
        req("title", Text(2000), "item title"),
        f(
            "position",
            Int {
                min: 0,
                max: 1_000_000,
            },
            "order on the agenda",
        ),
        f(
            "rank",
            Text(crate::order::RANK_MAX),
            "place on the agenda after a move (written by `move`; leave empty)",
        ),
        f("annotation", LongText, "annotation"),
        f("purpose", Text(1000), "purpose of the item"),
        f(
            "action_requested",
            Text(1000),
            "action requested of the meeting",
        ),
        f("lead_country", Country, "lead country"),
        f("presenter", Ref(Entity::Contact), "presenter (contact id)"),
        f(
            "projects",
            RefList(Entity::Project),
            "linked projects (ids or codes, comma-separated)",
        ),
        f("objectives", LongText, "brief: our objectives"),
        f("points_to_make", LongText, "brief: points to make"),
        f("their_objectives", LongText, "brief: their objectives"),
        f("our_response", LongText, "brief: our response"),
        f("press_line", LongText, "brief: press line"),
        f("background", LongText, "brief: background"),
    ],
};

static PARTICIPANT: EntityDesc = EntityDesc {
    entity: Entity::Participant,
    name: "participant",
    cli: "participant",
    table: "participant",
    parent: Some(("meeting", Entity::Meeting)),
    title: "contact",
    subtitle: Some("role"),
    search: &[],
    order_by: "delegation IS NULL, delegation, precedence, rowid",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 0,
    fields: &[
        req("meeting", Ref(Entity::Meeting), "meeting id"),
        req("contact", Ref(Entity::Contact), "contact id"),
        f("delegation", Country, "delegation's country"),
        f("delegation_org", Ref(Entity::Organisation), "delegation's organisation (partners, secretariat)"),
        def("role", Enum(PARTICIPANT_ROLES), "delegate", "head_of_delegation | alternate | delegate | adviser | observer | development_partner | secretariat | rapporteur | interpreter"),
        def("attendance", Enum(ATTENDANCE), "invited", "invited | confirmed | attended | absent | regrets"),
        f("precedence", Int { min: 0, max: 1_000_000 }, "order within the delegation"),
    ],
};

static DECISION: EntityDesc = EntityDesc {
    entity: Entity::Decision,
    name: "decision",
    cli: "decision",
    table: "decision",
    parent: Some(("meeting", Entity::Meeting)),
    title: "text",
    subtitle: Some("number"),
    search: &["text", "number"],
    order_by: "desk_rank_order(number, rank, id), id",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 6,
    fields: &[
        req("meeting", Ref(Entity::Meeting), "meeting id"),
        f("agenda_item", Ref(Entity::AgendaItem), "agenda item id"),
        f("number", Text(20), "decision number"),
        req("text", LongText, "text of the decision"),
        f(
            "rank",
            Text(crate::order::RANK_MAX),
            "place among the meeting's decisions after a move (written by `move`; leave empty)",
        ),
    ],
};

static ACTION: EntityDesc = EntityDesc {
    entity: Entity::Action,
    name: "action",
    cli: "action",
    table: "action_item",
    parent: Some(("meeting", Entity::Meeting)),
    title: "title",
    subtitle: Some("due_date"),
    search: &["title", "owner"],
    order_by: "due_date, rowid",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 7,
    fields: &[
        req(
            "meeting",
            Ref(Entity::Meeting),
            "meeting where the action was agreed",
        ),
        f(
            "decision",
            Ref(Entity::Decision),
            "decision it follows from",
        ),
        req("title", Text(1000), "what is to be done"),
        f("owner", Text(300), "responsible country or agency"),
        f("owner_country", Country, "responsible country"),
        f(
            "owner_contact",
            Ref(Entity::Contact),
            "responsible person (contact id)",
        ),
        f("due_date", Date, "due date"),
        def(
            "status",
            Enum(ACTION_STATUSES),
            "not_started",
            "not_started | ongoing | completed | overtaken",
        ),
        f("evidence", LongText, "evidence of completion"),
        f(
            "reported_at",
            Ref(Entity::Meeting),
            "meeting where progress was reported",
        ),
        f("notes", LongText, "updates"),
    ],
};

static TALKING_POINT: EntityDesc = EntityDesc {
    entity: Entity::TalkingPoint,
    name: "talking_point",
    cli: "point",
    table: "talking_point",
    parent: Some(("meeting", Entity::Meeting)),
    title: "text",
    subtitle: Some("kind"),
    search: &[],
    order_by: "position, rowid",
    unique: &[],
    date_range: None,
    classified: false,
    search_code: 0,
    fields: &[
        req("meeting", Ref(Entity::Meeting), "meeting id"),
        f("agenda_item", Ref(Entity::AgendaItem), "agenda item id"),
        def(
            "kind",
            Enum(POINT_KINDS),
            "talking_point",
            "talking_point | background",
        ),
        req("text", LongText, "the point"),
        f(
            "position",
            Int {
                min: 0,
                max: 1_000_000,
            },
            "order",
        ),
    ],
};

static DOCUMENT: EntityDesc = EntityDesc {
    entity: Entity::Document,
    name: "document",
    cli: "document",
    table: "document",
    parent: None,
    title: "title",
    subtitle: Some("symbol"),
    search: &["title", "symbol", "filename"],
    order_by: "symbol, title",
    unique: &[],
    date_range: None,
    classified: true,
    search_code: 8,
    fields: &[
        req("title", Text(1000), "title"),
        f(
            "symbol",
            Text(120),
            "document symbol, e.g. ACMECS/SOM/2026/1/DOC/003rev1",
        ),
        def(
            "kind",
            Enum(DOCUMENT_KINDS),
            "other",
            "agenda | concept_note | report | annex | statement | information_paper | other",
        ),
        def(
            "status",
            Enum(DOCUMENT_STATUSES),
            "draft",
            "draft | circulated | adopted | superseded",
        ),
        f(
            "meeting",
            Ref(Entity::Meeting),
            "meeting the document belongs to",
        ),
        f(
            "agenda_item",
            Ref(Entity::AgendaItem),
            "agenda item it is for (an item of its meeting; sets the meeting when none is given)",
        ),
        f("filename", Text(300), "original file name"),
        f("sha256", Sha256, "content hash of the file"),
        def(
            "version",
            Int {
                min: 1,
                max: 10_000,
            },
            "1",
            "version number",
        ),
        f(
            "previous",
            Ref(Entity::Document),
            "the version this one supersedes",
        ),
        CLASSIFICATION,
        SCOPE,
    ],
};

impl Entity {
    pub const ALL: [Entity; 14] = [
        Entity::Organisation,
        Entity::Contact,
        Entity::Project,
        Entity::Milestone,
        Entity::Indicator,
        Entity::Update,
        Entity::Meeting,
        Entity::AgendaItem,
        Entity::Participant,
        Entity::Decision,
        Entity::Action,
        Entity::TalkingPoint,
        Entity::Document,
        Entity::IndicatorValue,
    ];

    pub fn desc(self) -> &'static EntityDesc {
        match self {
            Entity::Organisation => &ORGANISATION,
            Entity::Contact => &CONTACT,
            Entity::Project => &PROJECT,
            Entity::Milestone => &MILESTONE,
            Entity::Indicator => &INDICATOR,
            Entity::IndicatorValue => &INDICATOR_VALUE,
            Entity::Update => &UPDATE,
            Entity::Meeting => &MEETING,
            Entity::AgendaItem => &AGENDA_ITEM,
            Entity::Participant => &PARTICIPANT,
            Entity::Decision => &DECISION,
            Entity::Action => &ACTION,
            Entity::TalkingPoint => &TALKING_POINT,
            Entity::Document => &DOCUMENT,
        }
    }

    pub fn name(self) -> &'static str {
        self.desc().name
    }

    /// By change-log name ("agenda_item") or CLI name ("agenda").
    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL
            .into_iter()
            .find(|e| e.desc().name == s || e.desc().cli == s)
    }

    /// Entities whose parent is this one (deleted with it).
    pub fn children(self) -> impl Iterator<Item = &'static EntityDesc> {
        Entity::ALL
            .into_iter()
            .map(Entity::desc)
            .filter(move |d| matches!(d.parent, Some((_, p)) if p == self))
    }
}

impl EntityDesc {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        // `fields` is 'static: the descriptors are statics.
        let fields: &'static [Field] = self.fields;
        fields.iter().find(|f| f.name == name)
    }
}

/// A country this replica knows: ISO code, English name, other names it answers to.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    pub member: bool,
    #[serde(skip)]
    pub aliases: &'static [&'static str],
}

const fn c(
    code: &'static str,
    name: &'static str,
    member: bool,
    aliases: &'static [&'static str],
) -> Country {
    Country {
        code,
        name,
        member,
        aliases,
    }
}

/// The five ACMECS members first, then partners and neighbours.
pub static COUNTRIES: &[Country] = &[
    c(
        "KH",
        "Cambodia",
        true,
        &["Kingdom of Cambodia", "Kampuchea", "KHM"],
    ),
    c(
        "LA",
        "Lao PDR",
        true,
        &["Laos", "Lao", "Lao People's Democratic Republic", "LAO"],
    ),
    c(
        "MM",
        "Myanmar",
        true,
        &["Burma", "Republic of the Union of Myanmar", "MMR"],
    ),
    c(
        "TH",
        "Thailand",
        true,
        &["Kingdom of Thailand", "Siam", "THA"],
    ),
    c(
        "VN",
        "Viet Nam",
        true,
        &["Vietnam", "Socialist Republic of Viet Nam", "VNM"],
    ),
    c("AU", "Australia", false, &["AUS"]),
    c(
        "CN",
        "China",
        false,
        &["People's Republic of China", "PRC", "CHN"],
    ),
    c("FR", "France", false, &["FRA"]),
    c("DE", "Germany", false, &["DEU"]),
    c("IN", "India", false, &["IND"]),
    c("JP", "Japan", false, &["JPN"]),
    c(
        "KR",
        "Republic of Korea",
        false,
        &["Korea", "South Korea", "KOR"],
    ),
    c("NZ", "New Zealand", false, &["NZL"]),
    c("GB", "United Kingdom", false, &["UK", "Britain", "GBR"]),
    c(
        "US",
        "United States",
        false,
        &["USA", "United States of America", "America"],
    ),
    c("CH", "Switzerland", false, &["CHE"]),
    c("SG", "Singapore", false, &["SGP"]),
    c("MY", "Malaysia", false, &["MYS"]),
    c("ID", "Indonesia", false, &["IDN"]),
    c("PH", "Philippines", false, &["PHL"]),
    c("BN", "Brunei Darussalam", false, &["Brunei", "BRN"]),
    c("TL", "Timor-Leste", false, &["East Timor", "TLS"]),
    c("BD", "Bangladesh", false, &["BGD"]),
    c("CA", "Canada", false, &["CAN"]),
    c("IT", "Italy", false, &["ITA"]),
    c("NL", "Netherlands", false, &["NLD"]),
    c("SE", "Sweden", false, &["SWE"]),
    c("NO", "Norway", false, &["NOR"]),
    c("FI", "Finland", false, &["FIN"]),
    c("RU", "Russian Federation", false, &["Russia", "RUS"]),
];

/// Resolves a code, name or alias (any case, surrounding spaces ignored) to a country.
pub fn country(input: &str) -> Option<&'static Country> {
    let s = input.trim();
    COUNTRIES.iter().find(|c| {
        c.code.eq_ignore_ascii_case(s)
            || c.name.eq_ignore_ascii_case(s)
            || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_iso_codes() {
        for (input, code) in [
            ("Lao PDR", "LA"),
            ("laos", "LA"),
            ("Viet Nam", "VN"),
            ("Vietnam", "VN"),
            ("Burma", "MM"),
            (" th ", "TH"),
            ("Kingdom of Cambodia", "KH"),
        ] {
            assert_eq!(country(input).map(|c| c.code), Some(code), "{input}");
        }
        assert!(country("Atlantis").is_none());
        assert!(country("XX").is_none());
    }

    #[test]
    fn names_are_unique_and_parse_round_trips() {
        for e in Entity::ALL {
            assert_eq!(Entity::parse(e.desc().name), Some(e));
            assert_eq!(Entity::parse(e.desc().cli), Some(e));
            let d = e.desc();
            for fld in d.fields {
                assert!(!fld.name.starts_with('_'), "{}.{}", d.name, fld.name);
            }
            if let Some((pf, _)) = d.parent {
                assert!(d.field(pf).is_some_and(|f| f.required));
            }
            for s in d.search {
                assert!(d.field(s).is_some());
            }
        }
    }

    #[test]
    fn meeting_children_are_known() {
        let kids: Vec<_> = Entity::Meeting.children().map(|d| d.name).collect();
        assert_eq!(
            kids,
            [
                "agenda_item",
                "participant",
                "decision",
                "action",
                "talking_point"
            ]
        );
    }
}
