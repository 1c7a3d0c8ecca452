//! The shell's commands through Tauri's IPC, on the mock runtime (no display needed): what the
//! web UI sends is what these tests send.

use serde_json::{json, Value};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;

struct Shell {
    _dir: tempfile::TempDir,
    _app: tauri::App<tauri::test::MockRuntime>,
    webview: tauri::WebviewWindow<tauri::test::MockRuntime>,
}

impl Shell {
    /// A shell whose clock the test moves (`clock` holds ms since 1970).
    fn with_clock(
        env_passphrase: &str,
        clock: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Shell {
        let dir = tempfile::tempdir().expect("tmp");
        let state = desk_app::AppState::new(dir.path().join("data"), Some(env_passphrase.into()))
            .with_clock(move || clock.load(std::sync::atomic::Ordering::SeqCst));
        Shell::on(dir, state)
    }

    fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    fn new(env_passphrase: Option<&str>) -> Shell {
        let dir = tempfile::tempdir().expect("tmp");
        let state =
            desk_app::AppState::new(dir.path().join("data"), env_passphrase.map(str::to_string));
        Shell::on(dir, state)
    }

    fn on(dir: tempfile::TempDir, state: desk_app::AppState) -> Shell {
        let app = desk_app::build(mock_builder(), state, mock_context(noop_assets())).expect("app");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("webview");
        Shell {
            _dir: dir,
            _app: app,
            webview,
        }
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().expect("json"))
    }
}

#[test]
fn a_locked_replica_refuses_work_until_unlocked() {
    let shell = Shell::new(None);
    let err = shell
        .call("search", json!({"query": "som"}))
        .expect_err("locked");
    assert_eq!(err["kind"], "wrong_key");
    // First run with a passphrase creates the encrypted replica.
    let summary = shell
        .call("unlock", json!({"passphrase": "correct horse battery"}))
        .expect("unlock");
    assert_eq!(summary["counts"]["contact"], 0);
    assert_eq!(
        shell.call("conflicts", json!({})).expect("inbox"),
        json!([])
    );
    let bad = shell
        .call("resolve_conflict", json!({"id": 1}))
        .expect_err("no choice");
    assert_eq!(bad["field"], "take");
    let status = shell.call("status", json!({})).expect("status");
    assert_eq!(status["unlocked"], true);
    assert_eq!(status["key_source"], "passphrase");
    // The UI's start-up report: answered with the time since the shell began.
    let ms = shell
        .call("interactive", json!({"atMs": 1_796_578_282_163.0}))
        .expect("interactive");
    assert!(ms.is_u64(), "{ms}");
    assert!(
        shell.call("interactive", json!({})).is_err(),
        "the time is required"
    );
}

#[test]
fn records_and_search_through_the_ipc() {
    let shell = Shell::new(Some("correct horse battery"));
    shell
        .call("unlock", json!({}))
        .expect("unlock with the env passphrase");
    let org = shell
        .call("create", json!({"entityName": "organisation", "fields": {"name": "Ministry of Foreign Affairs", "acronym": "MFA-TH", "country": "Thailand"}}))
        .expect("org");
    let contact = shell
        .call("create", json!({"entityName": "contact", "fields": {"name": "Somchai Jaidee", "native_name": "สมชาย ใจดี", "org": "MFA-TH"}}))
        .expect("contact");
    assert_eq!(contact["org"], org["id"]);
    let hits = shell
        .call("search", json!({"query": "ใจดี"}))
        .expect("search");
    assert_eq!(hits[0]["title"], "Somchai Jaidee");

    let bad = shell
        .call("update", json!({"entityName": "contact", "id": contact["id"], "fields": {"email": "not-an-email"}}))
        .expect_err("bad email");
    assert_eq!(bad["kind"], "validation");
    assert_eq!(bad["field"], "email");
    assert!(bad["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("contact.email"));

    let summary = shell
        .call("load_demo", json!({"size": "small"}))
        .expect("demo");
    assert_eq!(summary["counts"]["project"], 40);
    let meetings = shell
        .call(
            "page",
            json!({"entityName": "meeting", "query": {"limit": 3}}),
        )
        .expect("page");
    assert_eq!(meetings["total"], 8);
    let m = &meetings["rows"][0];
    let agenda = shell
        .call(
            "page",
            json!({"entityName": "agenda_item", "query": {"parent": m["id"]}}),
        )
        .expect("agenda");
    assert!(agenda["rows"].as_array().is_some_and(|a| !a.is_empty()));
    let people = shell
        .call(
            "page",
            json!({"entityName": "participant", "query": {"parent": m["id"]}}),
        )
        .expect("participants");
    // A participant is shown by its contact's name, not by an id.
    let label = people["rows"][0]["label"].as_str().unwrap_or_default();
    assert!(!label.is_empty() && !uuid_like(label), "{label}");
    // Delegations in protocol order: member countries alphabetically, head of delegation first.
    let dels = shell
        .call("delegations", json!({"meetingId": m["id"]}))
        .expect("delegations");
    assert_eq!(dels[0]["label"], "Cambodia");
    assert_eq!(dels[0]["members"][0]["role"], "head_of_delegation");

    let removed = shell
        .call(
            "remove",
            json!({"entityName": "contact", "id": contact["id"]}),
        )
        .expect("remove");
    assert_eq!(removed, 1);
    let unknown = shell
        .call("page", json!({"entityName": "spaceship", "query": {}}))
        .expect_err("unknown");
    assert_eq!(unknown["kind"], "validation");
}

#[test]
fn the_ui_is_built_from_descriptors_pages_and_the_home_view() {
    let shell = Shell::new(Some("correct horse battery"));
    shell.call("unlock", json!({})).expect("unlock");
    shell
        .call("load_demo", json!({"size": "small"}))
        .expect("demo");

    // Every entity with its fields, kinds and what a list may sort and filter on.
    let schema = shell.call("describe", json!({})).expect("describe");
    let entities = schema.as_array().expect("entities");
    assert_eq!(entities.len(), 14);
    let contact = entities
        .iter()
        .find(|e| e["name"] == "contact")
        .expect("contact");
    let email = contact["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "email"))
        .expect("email field");
    assert_eq!(email["kind"]["type"], "email");
    let org = contact["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "org"))
        .expect("org field");
    assert_eq!(
        org["kind"],
        json!({"type": "ref", "entity": "organisation"})
    );

    // Walking the contacts by cursor gives each one once, and as many as the total says.
    let mut seen = std::collections::BTreeSet::new();
    let mut after = Value::Null;
    let total = loop {
        let page = shell
            .call(
                "page",
                json!({"entityName": "contact", "query": {"limit": 7, "after": after}}),
            )
            .expect("page");
        for r in page["rows"].as_array().expect("rows") {
            assert!(seen.insert(r["id"].as_str().unwrap_or_default().to_string()));
            assert!(r["subtitle"].is_string());
        }
        after = page["next"].clone();
        if after.is_null() {
            break page["total"].as_u64().unwrap_or_default();
        }
    };
    assert_eq!(seen.len() as u64, total);
    let bad = shell
        .call(
            "page",
            json!({"entityName": "contact", "query": {"sort": "notes"}}),
        )
        .expect_err("a sort the descriptor does not offer");
    assert_eq!(bad["field"], "sort");

    // Action items come with their due state, as of today on this computer.
    let actions = shell
        .call(
            "page",
            json!({"entityName": "action", "query": {"limit": 1000}}),
        )
        .expect("actions");
    let states: std::collections::BTreeSet<String> = actions["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["due"].as_str().map(str::to_string))
        .collect();
    assert!(!states.is_empty(), "due states are filled");

    let home = shell.call("home", json!({})).expect("home");
    assert_eq!(
        home["as_of"],
        desk_app::commands::today().to_string(),
        "home is as of today"
    );
    assert!(home["upcoming"].is_array() && home["actions"].is_array());

    // The palette finds a meeting's parts, each with the meeting it belongs to.
    let hits = shell
        .call(
            "search",
            json!({"query": "Adoption of the agenda", "limit": 5}),
        )
        .expect("search");
    let item = hits
        .as_array()
        .and_then(|h| h.iter().find(|h| h["entity"] == "agenda_item"))
        .expect("an agenda item");
    assert_eq!(item["parent"]["entity"], "meeting");
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn the_app_prints_briefing_packs() {
    let shell = Shell::new(Some("correct horse battery"));
    shell.call("unlock", json!({})).expect("unlock");
    shell
        .call("load_demo", json!({"size": "small"}))
        .expect("demo");
    let out = tempfile::tempdir().expect("tmp");
    let file = out.path().join("som.pdf");
    let res = shell
        .call(
            "brief",
            json!({"meetingId": "ACMECS SOM 2026", "path": file.to_string_lossy(), "paper": "letter", "buddhistEra": true}),
        )
        .expect("brief");
    assert_eq!(res["file"], file.to_string_lossy().as_ref());
    assert!(res["pages"].as_u64() >= Some(8));
    let bytes = std::fs::read(&file).expect("written");
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(res["bytes"].as_u64(), Some(bytes.len() as u64));
    assert!(res["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .any(|c| c["title"] == "Annotated agenda"));

    let err = shell
        .call(
            "brief",
            json!({"meetingId": "nope", "path": file.to_string_lossy()}),
        )
        .expect_err("unknown meeting");
    assert_eq!(err["kind"], "not_found");
    let err = shell
        .call(
            "brief",
            json!({"meetingId": "ACMECS SOM 2026", "paper": "A3"}),
        )
        .expect_err("paper");
    assert_eq!(err["field"], "paper");
    let err = shell
        .call(
            "brief",
            json!({"meetingId": "ACMECS SOM 2026", "sections": ["agenda", "minutes"]}),
        )
        .expect_err("section");
    assert_eq!(err["field"], "sections");
    assert_eq!(std::fs::read(&file).expect("still there"), bytes);

    // The dialog's choices come from the pack's own lists.
    let choices = shell.call("brief_choices", json!({})).expect("choices");
    assert_eq!(choices["sections"][0]["name"], "agenda");
    assert_eq!(choices["sections"][0]["title"], "Annotated agenda");
    assert_eq!(choices["papers"], json!(["a4", "letter"]));
    assert_eq!(choices["previous_meetings"], 3);

    // A page previewed: a PNG the width asked (Poppler renders it, as the tests read packs).
    let url = shell
        .call(
            "pack_page",
            json!({"file": file.to_string_lossy(), "page": 3, "width": 400}),
        )
        .expect("preview");
    let b64 = url
        .as_str()
        .and_then(|u| u.strip_prefix("data:image/png;base64,"))
        .expect("a PNG data URL");
    let png = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64")
    };
    assert!(png.starts_with(b"\x89PNG"));
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, 400);
    for (args, field) in [
        (
            json!({"file": file.to_string_lossy(), "page": 0, "width": 400}),
            "page",
        ),
        (
            json!({"file": file.to_string_lossy(), "page": 999, "width": 400}),
            "page",
        ),
        (
            json!({"file": file.to_string_lossy(), "page": 1, "width": 5}),
            "width",
        ),
        (
            json!({"file": out.path().join("nope.pdf").to_string_lossy(), "page": 1, "width": 400}),
            "file",
        ),
    ] {
        let err = shell.call("pack_page", args).expect_err("refused");
        assert_eq!(err["field"], field, "{err}");
    }

    // A copy saved elsewhere, byte for byte; a name without .pdf or in no folder is refused.
    let copy = out.path().join("copy.pdf");
    shell
        .call(
            "save_pack_as",
            json!({"file": file.to_string_lossy(), "to": copy.to_string_lossy()}),
        )
        .expect("copy");
    assert_eq!(std::fs::read(&copy).expect("copy"), bytes);
    for to in [
        out.path().join("copy.txt"),
        out.path().join("no-such-folder").join("copy.pdf"),
    ] {
        let err = shell
            .call(
                "save_pack_as",
                json!({"file": file.to_string_lossy(), "to": to.to_string_lossy()}),
            )
            .expect_err("refused");
        assert_eq!(err["field"], "to", "{err}");
        assert!(!to.exists());
    }
}

#[test]
fn the_app_signs_in_to_a_real_sync_server_and_syncs() {
    let server = SyncServer::start();
    let url = server.url.clone();
    let shell = Shell::new(Some("correct horse battery"));
    shell.call("unlock", json!({})).expect("unlock");
    shell
        .call(
            "create",
            json!({"entityName": "contact", "fields": {"name": "Somchai Jaidee"}}),
        )
        .expect("contact");
    let st = shell.call("sync_status", json!({})).expect("status");
    assert_eq!(st["signed_in"], false);
    let err = shell
        .call("sync_now", json!({}))
        .expect_err("not signed in");
    assert_eq!(err["field"], "server");
    let err = shell
        .call(
            "sync_login",
            json!({"server": url, "user": "ana", "password": "wrong password"}),
        )
        .expect_err("wrong password");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("wrong user name or password"),
        "{err}"
    );

    let st = shell
        .call(
            "sync_login",
            json!({"server": url, "user": "ana", "password": "long enough password"}),
        )
        .expect("login");
    assert_eq!(
        (st["signed_in"].clone(), st["user"].clone()),
        (json!(true), json!("ana"))
    );
    let done = shell.call("sync_now", json!({})).expect("sync now");
    assert_eq!(done["state"], "idle", "{done}");

    // Another device of the same user receives what the app pushed.
    let token = desk_sync::http::Http::new(&url, None)
        .expect("http")
        .login("ana", "long enough password", "checker")
        .expect("login")
        .token;
    let mut other = desk_sync::http::Http::new(&url, Some(&token)).expect("http");
    use desk_sync::Transport;
    let page = other.pull(0, 100).expect("pull");
    assert!(
        serde_json::to_string(&page.changes)
            .expect("json")
            .contains("Somchai Jaidee"),
        "{:?}",
        page.changes
    );

    // An edit made while online goes at once: the background loop, waiting for news on a
    // long-poll of 25 s, is woken by the write. The other device waits (itself on a long-poll)
    // for at most 20 s — before the app's own wait could have ended.
    shell
        .call(
            "create",
            json!({"entityName": "contact", "fields": {"name": "Bounthavy Sisouk"}}),
        )
        .expect("second contact");
    let mut cursor = page.cursor;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = String::new();
    while !seen.contains("Bounthavy Sisouk") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "the edit did not reach the server: {seen}");
        let page = other
            .pull_wait(cursor, 100, left.as_secs().max(1) as u32)
            .expect("pull");
        cursor = page.cursor;
        seen.push_str(&serde_json::to_string(&page.changes).expect("json"));
    }

    let st = shell.call("sync_logout", json!({})).expect("logout");
    assert_eq!(st["signed_in"], false);
}

/// The real server (desk-server's routes) in-process on 127.0.0.1, with the user "ana"; the
/// store's file may be opened beside it (an administrator's `desk-server` command).
struct SyncServer {
    dir: tempfile::TempDir,
    url: String,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    rt: tokio::runtime::Runtime,
}

const HUB_KEY: desk_core::Key = desk_core::Key::Raw([8u8; 32]);

impl SyncServer {
    fn start() -> SyncServer {
        let dir = tempfile::tempdir().expect("tmp");
        let mut hub = desk_server::Hub::new(&dir.path().join("hub.db"), &HUB_KEY).expect("hub");
        desk_server::auth::add_user(
            hub.store_mut(),
            "ana",
            "long enough password",
            &desk_server::Role::Secretariat,
        )
        .expect("user");
        drop(hub);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut s = SyncServer {
            dir,
            url: format!("http://{addr}"),
            addr,
            stop: None,
            serving: None,
            rt,
        };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let hub = self.admin();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        self.serving = Some(self.rt.spawn(desk_server::serve(listener, hub, async {
            let _ = stopped.await;
        })));
    }

    /// The server goes away (the laptop is offline); its address stays free for [`Self::back`].
    fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            let _ = self.rt.block_on(serving);
        }
    }

    /// The same server back at the same address.
    fn back(&mut self) {
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .expect("rebind");
        self.serve(listener);
    }

    /// The store, opened beside the running server.
    fn admin(&self) -> desk_server::Hub {
        desk_server::Hub::open(&self.dir.path().join("hub.db"), &HUB_KEY).expect("hub")
    }
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        self.down();
    }
}

#[test]
fn a_revoked_app_removes_its_replica_and_keys_and_the_server_has_it_on_record() {
    let server = SyncServer::start();
    let shell = Shell::new(Some("correct horse battery"));
    shell.call("unlock", json!({})).expect("unlock");
    shell
        .call("create", json!({"entityName": "contact", "fields": {"name": "Aung Kyaw", "classification": "restricted"}}))
        .expect("contact");
    shell
        .call(
            "sync_login",
            json!({"server": server.url, "user": "ana", "password": "long enough password"}),
        )
        .expect("login");
    assert_eq!(
        shell.call("sync_now", json!({})).expect("sync")["state"],
        "idle"
    );
    let device = shell.call("summary", json!({})).expect("summary")["device"]
        .as_str()
        .expect("device")
        .to_string();

    let mut admin = server.admin();
    desk_server::auth::revoke_device(admin.store_mut(), &device).expect("revoke");
    let err = shell.call("sync_now", json!({})).expect_err("revoked");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{err}"
    );
    // Nothing of the replica is left in its folder, and the app holds nothing open.
    let left: Vec<_> = std::fs::read_dir(shell.data_dir())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let status = shell.call("status", json!({})).expect("status");
    assert_eq!(
        (status["exists"].clone(), status["unlocked"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        shell
            .call("search", json!({"query": "Aung"}))
            .expect_err("gone")["kind"],
        "wrong_key"
    );
    // The server has the wipe on record.
    let listed = desk_server::auth::devices(admin.store_mut()).expect("devices");
    let d = listed.iter().find(|d| d.id == device).expect("listed");
    assert!(
        d.revoked && d.wiped.is_some(),
        "{d:?} {:?}",
        desk_server::auth::audit_log(admin.store_mut(), 10)
    );
}

#[test]
fn meeting_day_follow_up_and_indicators_through_the_ipc() {
    let shell = Shell::new(None);
    shell
        .call("unlock", json!({"passphrase": "correct horse battery"}))
        .expect("unlock");
    let create = |entity: &str, fields: Value| -> String {
        shell
            .call("create", json!({"entityName": entity, "fields": fields}))
            .expect("create")["id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let m = create(
        "meeting",
        json!({"title": "ACMECS SOM", "framework": "ACMECS", "start_date": "2026-08-19"}),
    );
    let a = create("agenda_item", json!({"meeting": m, "title": "Opening"}));
    let b = create("agenda_item", json!({"meeting": m, "title": "Master Plan"}));
    let d = create(
        "decision",
        json!({"meeting": m, "agenda_item": b, "text": "Endorsed the roadmap."}),
    );
    create(
        "action",
        json!({"meeting": m, "decision": d, "title": "Circulate it", "owner_country": "LA", "due_date": "2001-01-01"}),
    );

    // The item moved to the top: one change, the outline in the new order with its numbers.
    shell
        .call(
            "move_record",
            json!({"entityName": "agenda_item", "id": b, "after": null}),
        )
        .expect("move");
    let o = shell
        .call("outline", json!({"meetingId": m}))
        .expect("outline");
    assert_eq!(o["items"][0]["id"], b);
    assert_eq!(o["items"][0]["number"], "1");
    assert_eq!(o["items"][1]["id"], a);
    let action = &o["items"][0]["decisions"][0]["actions"][0];
    assert_eq!(action["responsible"], "Lao PDR");

    // Captured during the meeting: the record and the proceedings with it, in one answer.
    let c = shell
        .call(
            "capture",
            json!({"entityName": "decision", "fields": {"meeting": m, "agenda_item": a, "text": "Welcomed the delegations."}}),
        )
        .expect("capture");
    assert_eq!(c["outline"]["items"][1]["id"], a);
    assert_eq!(
        c["outline"]["items"][1]["decisions"][0]["id"],
        c["record"]["id"]
    );
    // Bad input is refused at its field, and nothing is written; only parts of a meeting.
    let bad = shell
        .call(
            "capture",
            json!({"entityName": "action", "fields": {"meeting": m, "title": "Report", "due_date": "next week"}}),
        )
        .expect_err("bad due date");
    assert_eq!(bad["field"], "due_date");
    let not_part = shell
        .call(
            "capture",
            json!({"entityName": "contact", "fields": {"name": "Somchai"}}),
        )
        .expect_err("a contact is not captured");
    assert_eq!(not_part["kind"], "validation");
    let again = shell
        .call("outline", json!({"meetingId": m}))
        .expect("outline");
    assert_eq!(
        again["items"][1]["decisions"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(action["due"], "overdue");
    // A bad move names what is wrong and changes nothing.
    let err = shell
        .call(
            "move_record",
            json!({"entityName": "contact", "id": b, "after": null}),
        )
        .expect_err("contacts are not moved");
    assert_eq!(err["kind"], "validation");

    // The tracker, as of today on this computer when the query names no day.
    let page = shell
        .call(
            "followup",
            json!({"query": {"framework": "ACMECS", "due": "overdue", "owner_country": null, "status": null, "as_of": "", "before": null}, "offset": 0, "limit": 60}),
        )
        .expect("followup");
    assert_eq!(page["total"], 1);
    assert_eq!(page["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["rows"][0]["title"], "Circulate it");
    let meetings = shell
        .call("framework_meetings", json!({"framework": "ACMECS"}))
        .expect("meetings");
    assert_eq!(meetings.as_array().map(Vec::len), Some(1));
    assert_eq!(meetings[0]["id"], m);
    // Pages: two more action items, read one row at a time in the tracker's order (by due
    // date), the same total on every page.
    for (title, due) in [
        ("Report back", "2030-01-01"),
        ("Brief the ministers", "2020-06-30"),
    ] {
        create(
            "action",
            json!({"meeting": m, "decision": d, "title": title, "due_date": due}),
        );
    }
    let mut titles = Vec::new();
    for offset in 0..4 {
        let p = shell
            .call(
                "followup",
                json!({"query": {"framework": "ACMECS", "due": "any", "as_of": ""}, "offset": offset, "limit": 1}),
            )
            .expect("page");
        assert_eq!(p["total"], 3);
        titles.extend(
            p["rows"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|r| r["title"].clone()),
        );
    }
    assert_eq!(
        titles,
        vec![
            json!("Circulate it"),
            json!("Brief the ministers"),
            json!("Report back")
        ]
    );
    let bad = shell
        .call(
            "followup",
            json!({"query": {"framework": "ACMECS", "due": "any", "as_of": "yesterday"}, "offset": 0, "limit": 60}),
        )
        .expect_err("bad day");
    assert_eq!(bad["field"], "as_of");
    assert_eq!(
        shell.call("frameworks", json!({})).expect("frameworks"),
        json!([{"name": "ACMECS", "meetings": 1}])
    );

    // A project's indicator: its own value and a dated one make a series.
    let p = create("project", json!({"code": "SC-01", "title": "Corridor"}));

    // The portfolio and a project's milestones, as of today on this computer.
    create(
        "update",
        json!({"project": p, "period_end": "2026-06-30", "rag": "red"}),
    );
    create(
        "milestone",
        json!({"project": p, "title": "Feasibility study", "due_date": "2001-01-01", "status": "delayed"}),
    );
    let folio = shell.call("portfolio", json!({})).expect("portfolio");
    assert_eq!(folio[0]["code"], "SC-01");
    assert_eq!(folio[0]["rag"], "red");
    assert_eq!(folio[0]["milestones"], 1);
    let ms = shell
        .call("milestones", json!({"projectId": p}))
        .expect("milestones");
    assert_eq!(ms[0]["title"], "Feasibility study");
    assert_eq!(ms[0]["late"], true);
    let none = shell
        .call("milestones", json!({"projectId": "no-such-project"}))
        .expect_err("unknown project");
    assert_eq!(none["kind"], "not_found");
    let i = create(
        "indicator",
        json!({"project": p, "name": "Officials trained", "baseline": 0, "target": 300, "actual": 120, "as_of": "2026-06-30"}),
    );
    create(
        "indicator_value",
        json!({"indicator": i, "date": "2026-09-30", "value": 180}),
    );
    let series = shell
        .call("indicators", json!({"projectId": p}))
        .expect("indicators");
    assert_eq!(series[0]["points"].as_array().map(Vec::len), Some(2));
    assert_eq!(series[0]["latest"]["value"], 180.0);
    let status = shell.call("status", json!({})).expect("status");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn documents_are_attached_versioned_and_listed_through_the_ipc() {
    use base64::Engine;
    let shell = Shell::new(None);
    shell
        .call("unlock", json!({"passphrase": "correct horse battery"}))
        .expect("unlock");
    let m = shell
        .call(
            "create",
            json!({"entityName": "meeting", "fields": {"title": "SOM", "start_date": "2026-08-19"}}),
        )
        .expect("meeting")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let d = shell
        .call(
            "create",
            json!({"entityName": "document", "fields": {"title": "Concept note", "meeting": m}}),
        )
        .expect("document")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let bytes = "ບົດສະເໜີ concept note".as_bytes();
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let rec = shell
        .call(
            "attach_file",
            json!({"documentId": d, "filename": "concept.txt", "dataBase64": b64}),
        )
        .expect("attach");
    assert_eq!(rec["filename"], "concept.txt");
    let err = shell
        .call(
            "attach_file",
            json!({"documentId": d, "filename": "x.txt", "dataBase64": "not base64!"}),
        )
        .expect_err("bad bytes");
    assert_eq!(err["field"], "file");
    let dir = tempfile::tempdir().expect("tmp");
    let err = shell
        .call(
            "attach_path",
            json!({"documentId": d, "path": dir.path().join("missing.pdf").to_string_lossy()}),
        )
        .expect_err("missing file");
    assert_eq!(err["field"], "file");

    let v2 = shell
        .call(
            "new_document_version",
            json!({"documentId": d, "fields": {"symbol": "SOM/DOC/1/Rev.1"}}),
        )
        .expect("v2");
    assert_eq!(v2["version"], 2);
    let path = dir.path().join("rev1.txt");
    std::fs::write(&path, b"revision 1").expect("write");
    shell
        .call(
            "attach_path",
            json!({"documentId": v2["id"], "path": path.to_string_lossy()}),
        )
        .expect("attach by path");
    let listed = shell
        .call("meeting_documents", json!({"meetingId": m}))
        .expect("documents");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], v2["id"]);
    assert_eq!(listed[0]["filename"], "rev1.txt");
    let chain = shell
        .call("document_versions", json!({"documentId": v2["id"]}))
        .expect("versions");
    assert_eq!(chain[0]["id"], d.as_str());
    assert_eq!(chain[0]["status"], "superseded");
    assert_eq!(chain[1]["id"], v2["id"]);
}

#[test]
fn files_are_checked_imported_and_exported_through_the_ipc() {
    use base64::Engine;
    let shell = Shell::new(None);
    shell
        .call("unlock", json!({"passphrase": "correct horse battery"}))
        .expect("unlock");
    let csv = "First Name,Last Name,E-mail Address,Courriel,Company\n\
               Somchai,Jaidee,somchai@example.org,,MFA-TH\n\
               Bad,Row,not-mail,,\n\
               Lan,Nguyễn,,lan@example.vn,\n";
    let request = |dry: bool, map: Value, skip: bool| {
        json!({"request": {
            "filename": "contacts.csv",
            "data_base64": base64::engine::general_purpose::STANDARD.encode(csv),
            "entity": "contact", "encoding": null, "delimiter": null, "map": map,
            "dry_run": dry, "skip_invalid": skip}})
    };
    // The dry run: how it was read, the mapping, the first rows, the refused row; nothing written.
    let dry = shell
        .call("import_file", request(true, json!([]), false))
        .expect("dry run");
    assert_eq!(
        (
            dry["format"].as_str(),
            dry["encoding"].as_str(),
            dry["delimiter"].as_str()
        ),
        (Some("csv"), Some("UTF-8"), Some(","))
    );
    assert_eq!(dry["mapping"][2]["field"], "email");
    assert_eq!(
        dry["mapping"][3]["field"],
        Value::Null,
        "Courriel is not a known header"
    );
    assert!(dry["targets"]
        .as_array()
        .expect("targets")
        .contains(&json!("email")));
    assert_eq!(dry["preview"][0]["name"], "Somchai Jaidee");
    assert_eq!(dry["report"]["invalid"][0]["column"], "E-mail Address (C)");
    assert_eq!(dry["report"]["written"], false);
    assert_eq!(
        shell.call("summary", json!({})).expect("summary")["counts"]["contact"],
        0
    );
    // Refused rows stop the import unless asked; mapped by hand and skipped, it writes the rest.
    let stopped = shell
        .call("import_file", request(false, json!([]), false))
        .expect("stopped");
    assert_eq!(stopped["report"]["written"], false);
    let done = shell
        .call(
            "import_file",
            request(false, json!([["Courriel", "email"]]), true),
        )
        .expect("import");
    assert_eq!(
        (
            done["report"]["created"].as_u64(),
            done["report"]["written"].as_bool()
        ),
        (Some(2), Some(true))
    );
    assert_eq!(done["report"]["organisations_created"], json!(["MFA-TH"]));
    let lan = shell
        .call("search", json!({"query": "Nguyễn"}))
        .expect("search");
    assert_eq!(lan[0]["title"], "Lan Nguyễn", "{lan}");
    // A bad override names the field it is about.
    let bad = shell
        .call(
            "import_file",
            request(true, json!([["Nope", "email"]]), false),
        )
        .expect_err("unknown column");
    assert_eq!(bad["field"], "map");
    // Exports: a suggested path in the export folder; refused without the format's extension,
    // into a missing folder, or with restricted records unless asked.
    let dir = tempfile::tempdir().expect("tmp");
    std::env::set_var("DESK_EXPORT_DIR", dir.path());
    let csv_req = json!({"kind": "csv", "entity": "contact"});
    let suggested = shell
        .call("export_path", json!({"request": csv_req}))
        .expect("path");
    let suggested = suggested.as_str().expect("path").to_string();
    assert!(
        suggested.starts_with(&dir.path().display().to_string()) && suggested.ends_with(".csv"),
        "{suggested}"
    );
    let saved = shell
        .call(
            "export_file",
            json!({"request": csv_req, "to": suggested, "includeRestricted": false}),
        )
        .expect("export");
    let text = std::fs::read_to_string(saved["path"].as_str().expect("path")).expect("file");
    assert!(
        text.contains("Lan Nguyễn") && text.contains("MFA-TH"),
        "{text}"
    );
    let wrong = shell
        .call("export_file", json!({"request": csv_req, "to": dir.path().join("c.xlsx"), "includeRestricted": false}))
        .expect_err("extension");
    assert_eq!(wrong["field"], "to");
    let missing = shell
        .call("export_file", json!({"request": csv_req, "to": dir.path().join("nope/c.csv"), "includeRestricted": false}))
        .expect_err("folder");
    assert_eq!(missing["field"], "to");
    shell
        .call("create", json!({"entityName": "contact", "fields": {"name": "Quiet", "classification": "restricted"}}))
        .expect("restricted contact");
    let vcf = dir.path().join("c.vcf");
    let refused = shell
        .call("export_file", json!({"request": {"kind": "vcard", "version": 4}, "to": vcf, "includeRestricted": false}))
        .expect_err("restricted");
    assert_eq!(refused["field"], "include_restricted");
    assert!(!vcf.exists());
    shell
        .call("export_file", json!({"request": {"kind": "vcard", "version": 4}, "to": vcf, "includeRestricted": true}))
        .expect("asked");
    assert_eq!(
        std::fs::read_to_string(&vcf)
            .expect("vcf")
            .matches("BEGIN:VCARD")
            .count(),
        3
    );
    // A backup of the whole replica, restricted records only when asked.
    let backup = dir.path().join("backup.json");
    let refused = shell
        .call(
            "export_file",
            json!({"request": {"kind": "backup", "files": true}, "to": backup, "includeRestricted": false}),
        )
        .expect_err("restricted");
    assert_eq!(refused["field"], "include_restricted");
    shell
        .call(
            "export_file",
            json!({"request": {"kind": "backup", "files": true}, "to": backup, "includeRestricted": true}),
        )
        .expect("backup");
    let b =
        desk_exchange::backup::from_json(&std::fs::read(&backup).expect("read")).expect("a backup");
    assert_eq!((b.restricted, b.records["contact"].len()), (1, 3));
}

#[test]
fn a_locked_app_answers_no_record_command_until_its_pin_is_given() {
    let shell = Shell::new(Some("correct horse battery"));
    shell.call("unlock", json!({})).expect("unlock");
    // No PIN yet: locking would open to anyone (the passphrase comes from the environment).
    let refused = shell.call("lock_now", json!({})).expect_err("no PIN");
    assert_eq!(refused["field"], "pin");
    assert_eq!(
        shell.call("status", json!({})).expect("status")["unlocked"],
        true
    );
    let weak = shell
        .call("set_lock_pin", json!({"pin": "12"}))
        .expect_err("too short");
    assert_eq!(weak["field"], "pin");
    let policy = shell
        .call("set_lock_pin", json!({"pin": "4821"}))
        .expect("PIN set");
    assert_eq!(policy, json!({"pin_set": true, "idle_minutes": 10}));
    assert_eq!(
        shell
            .call("set_idle_lock", json!({"minutes": 0}))
            .expect_err("bounds")["field"],
        "idle_minutes"
    );
    shell
        .call("set_idle_lock", json!({"minutes": 5}))
        .expect("idle time");
    let contact = shell
        .call(
            "create",
            json!({"entityName": "contact", "fields": {"name": "Bùi Thanh Sơn"}}),
        )
        .expect("contact");

    let status = shell.call("lock_now", json!({})).expect("locked");
    assert_eq!(status["unlocked"], false);
    // Every way in to the records is closed.
    for (cmd, args) in [
        ("search", json!({"query": "Sơn"})),
        ("get", json!({"entityName": "contact", "id": contact["id"]})),
        (
            "page",
            json!({"entityName": "contact", "query": {"limit": 3}}),
        ),
        ("summary", json!({})),
        ("lock_policy", json!({})),
        ("set_lock_pin", json!({"current": "4821", "pin": null})),
        ("home", json!({})),
    ] {
        let err = shell.call(cmd, args).expect_err(cmd);
        assert_eq!(err["kind"], "wrong_key", "{cmd}: {err}");
    }
    // The environment's passphrase alone does not open it; a wrong PIN neither.
    assert_eq!(
        shell.call("unlock", json!({})).expect_err("PIN needed")["field"],
        "pin"
    );
    let wrong = shell
        .call("unlock", json!({"pin": "0000"}))
        .expect_err("wrong PIN");
    assert_eq!(wrong["field"], "pin");
    assert_eq!(
        shell.call("status", json!({})).expect("status")["unlocked"],
        false
    );
    shell
        .call("unlock", json!({"pin": "4821"}))
        .expect("the right PIN");
    let hits = shell
        .call("search", json!({"query": "Sơn"}))
        .expect("search");
    assert_eq!(hits[0]["id"], contact["id"]);
    assert_eq!(
        shell.call("lock_policy", json!({})).expect("policy")["idle_minutes"],
        5
    );
}

#[test]
fn past_the_offline_lease_the_app_locks_until_a_code_or_a_sync_and_nothing_is_lost() {
    use std::sync::atomic::{AtomicU64, Ordering};
    const DAY: u64 = 86_400_000;
    let mut server = SyncServer::start();
    desk_server::auth::set_lease_days(server.admin().store_mut(), Some(30)).expect("policy");
    let t0 = 1_796_600_000_000u64;
    let clock = std::sync::Arc::new(AtomicU64::new(t0));
    let shell = Shell::with_clock("correct horse battery", clock.clone());
    shell.call("unlock", json!({})).expect("unlock");
    shell
        .call(
            "sync_login",
            json!({"server": server.url, "user": "ana", "password": "long enough password"}),
        )
        .expect("login");
    shell.call("sync_now", json!({})).expect("sync");
    let lease =
        |shell: &Shell| shell.call("sync_status", json!({})).expect("status")["lease"].clone();
    assert_eq!(
        lease(&shell),
        json!({"state": "ok", "days_left": 30, "days": 30})
    );

    // Offline for four weeks: a warning; past thirty days: locked.
    server.down();
    clock.store(t0 + 28 * DAY, Ordering::SeqCst);
    assert_eq!(
        lease(&shell),
        json!({"state": "warning", "hours_left": 48, "days": 30})
    );
    shell
        .call(
            "create",
            json!({"entityName": "contact", "fields": {"name": "Vongsa Phommachanh"}}),
        )
        .expect("work goes on offline");
    clock.store(t0 + 31 * DAY, Ordering::SeqCst);
    let locked = shell
        .call("search", json!({"query": "Vongsa"}))
        .expect_err("past the lease");
    assert_eq!(locked["field"], "lease", "{locked}");
    assert!(
        locked["message"]
            .as_str()
            .unwrap_or_default()
            .contains("30 days"),
        "{locked}"
    );
    assert_eq!(
        shell.call("status", json!({})).expect("status")["unlocked"],
        false
    );
    assert_eq!(
        shell.call("unlock", json!({})).expect_err("still")["field"],
        "lease"
    );
    // No network: trying a sync does not open it.
    let offline = shell.call("lease_sync", json!({})).expect_err("offline");
    assert_eq!(offline["field"], "lease", "{offline}");

    // An administrator's one-time code, read over the phone, works offline, for this device.
    let device = {
        let r = desk_core::Replica::open(
            &shell.data_dir().join("replica.db"),
            &desk_core::Key::Passphrase("correct horse battery".into()),
        )
        .expect("open");
        r.device_id().to_string()
    };
    let code =
        desk_server::auth::unlock_code(server.admin().store_mut(), &device, 7).expect("code");
    let wrong = shell
        .call("unlock", json!({"code": "AAAA-AAAA-07-AAAA-AAAA-AAAA"}))
        .expect_err("a made-up code");
    assert_eq!(wrong["field"], "code", "{wrong}");
    shell
        .call("unlock", json!({"code": code.to_lowercase()}))
        .expect("unlocked by the code");
    let hits = shell
        .call("search", json!({"query": "Vongsa"}))
        .expect("search");
    assert_eq!(hits[0]["title"], "Vongsa Phommachanh");
    assert_eq!(lease(&shell)["state"], "ok");

    // Back online: the sync sends what was made offline, and the lease starts again.
    server.back();
    clock.store(t0 + 37 * DAY, Ordering::SeqCst);
    assert_eq!(
        lease(&shell)["state"],
        "warning",
        "the code's seven days run out"
    );
    shell.call("sync_now", json!({})).expect("sync");
    assert_eq!(
        lease(&shell),
        json!({"state": "ok", "days_left": 30, "days": 30})
    );
    let st = shell.call("sync_status", json!({})).expect("status");
    assert_eq!(st["pending"], 0, "{st}");
    let audit = desk_server::auth::audit_log(server.admin().store_mut(), 50).expect("audit");
    assert!(
        audit
            .iter()
            .any(|(_, _, d, a, _)| a == "unlock-code" && d.as_deref() == Some(device.as_str())),
        "{audit:?}"
    );
}
